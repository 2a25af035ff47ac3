"""The pytest fixtures svclab provides (registered by svclab.plugin)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
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
from svclab.harness.tweaks import as_app, on_node, one_per_node, udp_too
from svclab.labs import Lab, clusterdns, kept, make_lab, metallb, read_only
from svclab.labs.addons import LAB_ZONE
from svclab.observe import clusterstate
from svclab.observe.conntrack import udp_flow_entries
from svclab.observe.dataplane import nodeport_entries, service_entries
from svclab.observe.parsers import parse_listeners, parse_ports, parse_table
from svclab.observe.probes import SETTLE_REQUESTS, Batch, curl_batch, own_address
from svclab.observe.proxymode import kube_proxy_config, put_kube_proxy_config, set_ipvs_scheduler, set_masquerade_all
from svclab.observe.udp import udp_batch, udp_flow
from svclab.plugin.sharing import sharing

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
    "as_app",
    "curl_batch",
    "kube_proxy_config",
    "lab_images",
    "metallb",
    "myapp_deployment",
    "nodeport_entries",
    "on_node",
    "own_address",
    "parse_listeners",
    "parse_ports",
    "parse_table",
    "put_kube_proxy_config",
    "run",
    "service_entries",
    "set_ipvs_scheduler",
    "set_masquerade_all",
    "udp_batch",
    "udp_flow",
    "udp_flow_entries",
    "udp_too",
]


@pytest.fixture(scope="session")
def lab_spec(request: pytest.FixtureRequest) -> LabSpec:
    spec: LabSpec = request.config.stash[SPEC_KEY]
    return spec


@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest, lab_spec: LabSpec) -> Iterator[LiveLab]:
    """The running lab: created (or reused) once per run, torn down unless kept. pytest-xdist's
    workers share one lab: the first creates it, the last tears it down (svclab.plugin.sharing)."""
    provider = make_lab(lab_spec)
    share = sharing(request)
    joined = False
    held = ExitStack()  # released after this fixture's teardown (finalizers run last in, first out)
    request.addfinalizer(held.close)
    if provider.builds_cluster:  # `svclab down` leaves a lab alone while a run uses it
        held.enter_context(kept.in_use(lab_spec.name))
    try:
        if share is None:
            provider.up()
            first = True
        else:
            first = share.join(provider.up)
        joined = True
        live = open_lab(lab_spec, provider)
        evidence.note_lab(lab_facts(live))
        if first and not provider.builds_cluster:  # the state to find again at the end
            before = clusterstate.snapshot(live.kubectl)
            if share:
                share.keep_state(before)
        yield live
    except BaseException as exc:
        evidence.note_lab({"name": lab_spec.name, "proxy_mode_requested": lab_spec.proxy_mode,
                           "error": str(exc) or type(exc).__name__})
        if share is None or (joined and share.leave()):
            _finish(request, provider, failed=True)
        if isinstance(exc, SvclabError):  # one sentence for the whole run, not one per test
            said = f"svclab: the lab is not usable: {exc}"
            if share is not None:  # pytest.exit in a pytest-xdist worker crashes the controller:
                request.session.shouldstop = said  # this worker stops, its test errors with the sentence
                raise SvclabError(said) from exc
            pytest.exit(said, returncode=EXIT_LAB)
        raise
    if share is not None and not share.leave():
        progress.say("other pytest-xdist workers still use the lab: the last one tears it down")
        return
    _finish(request, provider, failed=request.session.testsfailed > 0)
    if not provider.builds_cluster:
        _left_as_it_was(live, share.first_state() if share else before)


@pytest.fixture(scope="module", autouse=True)
def _svclab_cluster_hold(request: pytest.FixtureRequest) -> Iterator[None]:
    """Under pytest-xdist, a module that changes cluster-scoped state runs alone."""
    share = sharing(request)
    if share is None:
        yield
        return
    with share.hold(exclusive=request.node.get_closest_marker("changes_cluster") is not None):
        yield


def _left_as_it_was(live: LiveLab, before: dict[str, Any]) -> None:
    """A cluster svclab did not build: its own namespaces gone, everything else as before."""
    gone = settle(lambda: holds("svclab's namespaces are deleted", not (left := clusterstate.own_namespaces(
        live.kubectl)), "none left", ", ".join(left)), timeout=180, interval=3)[0]
    changed = clusterstate.differences(before, clusterstate.snapshot(live.kubectl))
    evidence.note_lab({"cluster_state_after": "; ".join(changed) or f"identical to before ({len(before)} objects)"})
    progress.say(f"cluster-scoped state after the run: {'; '.join(changed) or 'identical to before'}")
    verify(gone)
    verify(holds("the cluster's state outside svclab's namespaces is as before the run", not changed,
                 f"the same {len(before)} objects, unchanged", "; ".join(changed)))


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

    made = Jig(lab.kubectl, namespace, lab.client_node, enter_from=lab.ssh_shell)
    made.facts_for = lambda name: service_facts(lab, made, name)
    return made


@pytest.fixture(scope="module")
def myapp(lab: LiveLab, jig: Jig) -> list[Pod]:
    """The seeds' myapp Deployment, 3 ready replicas; on a lab that mixes modes, one on each of
    its three nodes, so that the IPVS VM, where workloads prefer not to start (slowly, emulated),
    still has a local endpoint (Local policies, the LoadBalancer address only it announces)."""
    return jig.deploy_myapp(3, one_per_node if lab.proxy.support else None)


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
EXIT_LAB = 13  # svclab.plugin's exit codes (the plugin imports this module, not the reverse)


@pytest.fixture(scope="module")
def outside(lab: LiveLab, namespace: str) -> Iterator[Client]:
    """A client outside the cluster on the lab network (kind labs); removed afterwards."""
    start = getattr(lab.provider, "start_client", None)
    if start is None:
        pytest.skip(f"the {lab.spec.provider} provider has no client outside the cluster")
    client = start(namespace)
    yield client
    client.stop()


@pytest.fixture(scope="module")
def lab_zone(lab: LiveLab, probe: Probe) -> Iterator[str]:
    """The lab zone (the ExternalName target's), answered by the cluster's own CoreDNS.
    svclab's labs have it: one that lost it fails the checks (a drill proves it). A cluster
    svclab did not build gets it only with --allow-cluster-changes, and its Corefile back after."""
    text = clusterdns.corefile(lab.kubectl)
    if lab.provider.builds_cluster or clusterdns.answers_lab_zone(text):
        yield LAB_ZONE
        return
    if read_only(lab.spec):
        pytest.skip(f"needs the lab zone {LAB_ZONE} in the cluster's CoreDNS, which has none (its names would be "
                    "asked outside the lab); adding it changes the cluster: pass --allow-cluster-changes")
    before, _ = clusterdns.reloads(lab.kubectl)
    clusterdns.put_corefile(lab.kubectl, clusterdns.with_lab_zone(text, lab.spec), f"adding the lab zone {LAB_ZONE}")
    try:
        # every CoreDNS loads it before any lab-zone name is asked (else the name goes upstream)
        before = _reloaded(lab, before)
        yield LAB_ZONE
    finally:
        clusterdns.put_corefile(lab.kubectl, text, "restoring CoreDNS's original Corefile")
        _reloaded(lab, before)


def _reloaded(lab: LiveLab, before: dict[str, int]) -> dict[str, int]:
    """Wait until every CoreDNS pod has reloaded its Corefile once more than `before` says."""
    def observe() -> Verdict:
        now, listed = clusterdns.reloads(lab.kubectl)
        ok = bool(now) and now.keys() == before.keys() and all(n > before[pod] for pod, n in now.items())
        return Verdict("every CoreDNS pod reloaded the Corefile", ok, f"one more reload than {before}",
                       str(now), (listed,), data=dict(now))

    verdict, _ = settle(observe, timeout=150, interval=3)
    verify(verdict)
    return {pod: int(str(n)) for pod, n in verdict.data.items()}


@pytest.fixture
def closed_dns(lab: LiveLab) -> None:
    """Skip, saying why, when the cluster's CoreDNS forwards names it does not answer: svclab
    never makes a cluster ask outside the lab (svclab's own labs forward nothing)."""
    if lab.provider.builds_cluster:
        return
    out = clusterdns.forwards(clusterdns.corefile(lab.kubectl))
    if out:
        pytest.skip(f"this cluster's CoreDNS forwards what it does not answer ({', '.join(out)}): "
                    "the check would send a query off the lab")
