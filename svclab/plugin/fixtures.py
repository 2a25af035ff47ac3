"""The pytest fixtures svclab provides (registered by svclab.plugin)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from svclab.core import progress
from svclab.core.catalog import lab_images
from svclab.core.errors import SvclabError
from svclab.core.result import CommandResult, run
from svclab.core.shell import LocalShell, Shell
from svclab.core.spec import NODE_PORT_RANGE, LabSpec
from svclab.expect import evidence
from svclab.expect.verdict import Verdict, holds, settle, verify
from svclab.harness.jig import MYAPP_SELECTOR, Jig, Pod, Probe, myapp_deployment
from svclab.harness.live import Client, LiveLab, lab_facts, open_lab
from svclab.labs import Lab, make_lab, metallb
from svclab.labs.addons import LAB_ZONE, dns_server
from svclab.observe.dataplane import nodeport_entries, service_entries
from svclab.observe.parsers import parse_listeners, parse_ports, parse_table
from svclab.observe.probes import SETTLE_REQUESTS, Batch, curl_batch
from svclab.observe.proxymode import in_force, ipvs_scheduler, set_ipvs_scheduler

# What suites import from svclab besides svclab.expect: the fixtures' types and the observations
# a suite makes with them. Suites import nothing else, so the modules behind can move freely.
__all__ = [
    "LAB_ZONE",
    "MYAPP_SELECTOR",
    "NODE_PORT_RANGE",
    "SETTLE_REQUESTS",
    "Batch",
    "Client",
    "CommandResult",
    "Jig",
    "LiveLab",
    "LocalShell",
    "Pod",
    "Probe",
    "Shell",
    "curl_batch",
    "dns_server",
    "in_force",
    "ipvs_scheduler",
    "lab_images",
    "metallb",
    "myapp_deployment",
    "nodeport_entries",
    "parse_listeners",
    "parse_ports",
    "parse_table",
    "run",
    "service_entries",
    "set_ipvs_scheduler",
]


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
        live = open_lab(lab_spec, provider)
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

    def default_account() -> Verdict:  # made by kube-controller-manager; pods cannot start before it
        found = lab.kubectl.run("get", "serviceaccount", "default", "-n", name, "-o", "name")
        return holds(f"namespace {name} has its default ServiceAccount", found.ok, "serviceaccount/default",
                     found.stdout.strip() or found.stderr.strip(), found)

    verify(settle(default_account, timeout=60)[0])
    yield name
    lab.kubectl.run("delete", "namespace", name, "--wait=false")


@pytest.fixture(scope="module")
def jig(lab: LiveLab, namespace: str) -> Jig:
    from svclab.harness.facts import service_facts

    made = Jig(lab.kubectl, namespace, lab.client_node)
    made.facts_for = lambda name: service_facts(lab, made, name)
    return made


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
def shells(lab: LiveLab) -> dict[str, Shell]:
    """Every node's shell; a test that needs them is skipped, with the reason, on a lab that
    gives none (an existing cluster)."""
    found = lab.node_shells()
    if not found:
        pytest.skip(f"needs a shell on the nodes, and the {lab.spec.provider} provider gives none")
    return found


@pytest.fixture(scope="session")
def nodes(lab: LiveLab) -> dict[str, Any]:
    """testinfra hosts for every node (docker backend on kind)."""
    import testinfra

    shells = lab.node_shells()
    if not shells:
        pytest.skip(f"the {lab.spec.provider} provider gives no node shell")
    return {name: testinfra.get_host(shell.host) for name, shell in shells.items()}


SPEC_KEY = pytest.StashKey[LabSpec]()


@pytest.fixture(scope="module")
def outside(lab: LiveLab, namespace: str) -> Iterator[Client]:
    """A client outside the cluster on the lab network (kind labs); removed afterwards."""
    start = getattr(lab.provider, "start_client", None)
    if start is None:
        pytest.skip(f"the {lab.spec.provider} provider has no client outside the cluster")
    client = start(namespace)
    yield client
    client.stop()
