"""The pytest fixtures svclab provides (registered by svclab.plugin)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from svclab import evidence, progress
from svclab.errors import SvclabError
from svclab.jig import Jig, Pod, Probe
from svclab.kubectl import Kubectl
from svclab.providers import Lab, Node, NodeShell, make_lab
from svclab.proxymode import InForce, in_force
from svclab.result import CommandResult
from svclab.spec import LabSpec
from svclab.wait import wait_for


@dataclass(frozen=True)
class LiveLab:
    """What a test may use of the running lab."""

    spec: LabSpec
    provider: Lab
    kubectl: Kubectl
    nodes: tuple[Node, ...]
    proxy: InForce

    @property
    def shell(self) -> NodeShell | None:
        return self.provider if isinstance(self.provider, NodeShell) else None

    @property
    def mode(self) -> str:
        return self.proxy.configured

    @property
    def dataplane(self) -> tuple[Node, ...]:
        """The nodes where the requested proxy mode is in force (all of them, unless the lab
        mixes modes: the IPVS lab on a host without ip_vs has one IPVS node, in a VM)."""
        if not self.proxy.observed:  # no node shell: nothing is known per node
            return self.nodes
        names = set(self.proxy.dataplane())  # never empty: the lab fixture checked mismatch()
        return tuple(n for n in self.nodes if n.name in names)

    @property
    def client_node(self) -> str | None:
        """Where client pods run: on a data-plane node when the lab mixes modes, so that
        every request goes through the requested mode; else wherever the scheduler likes."""
        return self.dataplane[0].name if self.proxy.support else None

    def mode_on(self, node: str) -> str:
        return self.proxy.observed.get(node, self.mode)

    def on_dataplane(self, argv: list[str]) -> dict[str, CommandResult]:
        """Run argv on every node where the requested mode is in force."""
        if self.shell is None:
            raise SvclabError(f"the {self.spec.provider} provider gives no node shell")
        return {n.name: self.shell.node_run(n.name, argv) for n in self.dataplane}


def read_nodes(kubectl: Kubectl) -> tuple[Node, ...]:
    out = []
    for item in kubectl.get("nodes")["items"]:
        labels = item["metadata"].get("labels", {})
        role = "control-plane" if "node-role.kubernetes.io/control-plane" in labels else "worker"
        ip = next((a["address"] for a in item["status"]["addresses"] if a["type"] == "InternalIP"), "")
        out.append(Node(item["metadata"]["name"], role, ip))
    return tuple(sorted(out, key=lambda n: n.name))


@pytest.fixture(scope="session")
def lab_spec(request: pytest.FixtureRequest) -> LabSpec:
    spec: LabSpec = request.config.stash[SPEC_KEY]
    return spec


@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest, lab_spec: LabSpec) -> Iterator[LiveLab]:
    """The running lab: created (or reused) once per session, torn down unless kept."""
    provider = make_lab(lab_spec)
    try:
        provider.up()
        kubectl = Kubectl(provider.kubeconfig, _kubectl_binary())
        nodes = read_nodes(kubectl)
        shell = provider if isinstance(provider, NodeShell) else None
        support = provider.proxy_support() if hasattr(provider, "proxy_support") else {}
        proxy = wait_for(lambda: _settled(lab_spec.proxy_mode, kubectl, shell, nodes, support),
                         what="kube-proxy's rules on every node", timeout=120, interval=1)
        live = LiveLab(lab_spec, provider, kubectl, nodes, proxy)
        wrong = proxy.mismatch()
        if wrong:
            raise SvclabError(wrong + " svclab never falls back silently.")
        progress.say(f"proxy mode in force: {proxy.configured} (nodes: {proxy.observed})")
        if proxy.support:
            progress.say(f"requests to Service addresses go through {', '.join(proxy.dataplane())} "
                         f"({proxy.requested}); the other nodes run {', '.join(sorted(set(proxy.support.values())))} "
                         "because this host's kernel cannot run the requested mode")
        evidence.note_lab(lab_facts(live))
        yield live
    except BaseException as exc:
        evidence.note_lab({"name": lab_spec.name, "proxy_mode_requested": lab_spec.proxy_mode,
                           "error": str(exc) or type(exc).__name__})
        _finish(request, provider, failed=True)
        if isinstance(exc, SvclabError):  # one sentence for the whole run, not one per test
            pytest.exit(f"svclab: the lab is not usable: {exc}", returncode=3)
        raise
    _finish(request, provider, failed=request.session.testsfailed > 0)


def lab_facts(live: LiveLab) -> dict[str, Any]:
    """What a reader of the report needs to know about the lab that produced it."""
    version = live.kubectl.run("version", "-o", "json")
    server = json.loads(version.stdout).get("serverVersion", {}) if version.ok else {}
    shell = live.shell
    kernel = shell.node_run(live.dataplane[0].name, ["uname", "-r"]).stdout.strip() if shell else ""
    return {
        "provider": live.spec.provider, "name": live.spec.name,
        "kubernetes": server.get("gitVersion", ""), "node_image": live.spec.image,
        "proxy_mode_requested": live.proxy.requested, "proxy_mode_configured": live.proxy.configured,
        "proxy_mode_observed": live.proxy.observed, "proxy_mode_support": live.proxy.support,
        "dataplane_nodes": [n.name for n in live.dataplane], "ipvs_scheduler": live.spec.ipvs_scheduler,
        "kernel": kernel, "cni": "labnet (bridge, host-local, portmap + node routes)",
        "pod_subnet": live.spec.pod_subnet, "service_subnet": live.spec.service_subnet,
        "nodes": [{"name": n.name, "role": n.role, "address": n.address} for n in live.nodes],
        "reused": live.provider.reused,
    }


def _settled(requested: str, kubectl: Kubectl, shell: NodeShell | None,
             nodes: tuple[Node, ...], support: dict[str, str]) -> InForce | None:
    found = in_force(requested, kubectl, shell, [n.name for n in nodes], support)
    return None if "none" in found.observed.values() else found


def _kubectl_binary() -> Path:
    from svclab import tools

    return tools.binary("kubectl")


def _finish(request: pytest.FixtureRequest, provider: Lab, failed: bool) -> None:
    keep = bool(request.config.getoption("keep_lab"))
    if not provider.owned:
        return
    if failed:
        dest = Path(request.config.getoption("svclab_report_dir")) / "lab-logs"
        where = provider.export_logs(dest)
        if where:
            progress.say(f"lab logs exported to {where}")
    if keep:
        progress.say(f"keeping the lab {provider.spec.name!r} (--keep-lab); the next run reuses it")
    else:
        provider.down()


@pytest.fixture(scope="module")
def namespace(lab: LiveLab, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace of its own for each test module, deleted afterwards."""
    base = re.sub(r"[^a-z0-9]+", "-", request.module.__name__.split(".")[-1].lower()).strip("-")
    name = f"svclab-{base[:40]}-{uuid.uuid4().hex[:5]}"
    lab.kubectl.run("create", "namespace", name).check("kubectl create namespace")
    yield name
    lab.kubectl.run("delete", "namespace", name, "--wait=false")


@pytest.fixture(scope="module")
def jig(lab: LiveLab, namespace: str) -> Jig:
    return Jig(lab.kubectl, namespace, lab.client_node)


@pytest.fixture(scope="module")
def myapp(jig: Jig) -> list[Pod]:
    """The seeds' myapp Deployment, 3 ready replicas."""
    return jig.deploy_myapp(3)


@pytest.fixture(scope="module")
def probe(jig: Jig) -> Probe:
    """A client pod with curl and dig in the module's namespace."""
    return jig.start_probe()


@pytest.fixture(scope="session")
def kube(lab: LiveLab) -> Any:
    """A kubernetes.client.ApiClient for the lab."""
    from kubernetes import config

    return config.new_client_from_config(config_file=str(lab.provider.kubeconfig))  # type: ignore[no-untyped-call]


@pytest.fixture(scope="session")
def nodes(lab: LiveLab) -> dict[str, Any]:
    """testinfra hosts for every node (docker backend on kind)."""
    import testinfra

    shell = lab.shell
    if shell is None:
        pytest.skip(f"the {lab.spec.provider} provider gives no node shell")
    return {n.name: testinfra.get_host(shell.testinfra_spec(n.name)) for n in lab.nodes}


SPEC_KEY = pytest.StashKey[LabSpec]()


@pytest.fixture(scope="module")
def outside(lab: LiveLab, namespace: str) -> Iterator[Any]:
    """A client outside the cluster on the lab network (kind labs); removed afterwards."""
    start = getattr(lab.provider, "start_client", None)
    if start is None:
        pytest.skip(f"the {lab.spec.provider} provider has no client outside the cluster")
    client = start(namespace)
    yield client
    client.stop()
