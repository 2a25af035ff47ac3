"""internalTrafficPolicy: Local: a client pod reaches only the endpoints on its own node, and
with none there it gets no answer at all (no fallback to other nodes); Cluster, for contrast,
spreads over every node.

Two one-pod Deployments behind one Service: `near` on the client's node (the node whose
kube-proxy is under test), `far` on any other node.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from svclab.expect import Verdict, holds, reaches_all, refuted, settle, unanswered, verify, verify_all
from svclab.plugin.fixtures import Jig, LiveLab, Pod, Probe, as_app, myapp_deployment, udp_batch, udp_too

REQUESTS = 30
APP = {"app": "itp"}
HOSTNAME = "kubernetes.io/hostname"


def placed(name: str, node: str, on: bool) -> Callable[[dict[str, object]], None]:
    """myapp, one replica, named `name`, on `node` (on=True) or on any other node."""
    def tweak(obj: dict[str, object]) -> None:
        term = {"matchExpressions": [{"key": HOSTNAME, "operator": "In" if on else "NotIn", "values": [node]}]}
        obj["spec"]["template"]["spec"]["affinity"] = {  # type: ignore[index]
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}
        udp_too(obj)
    return as_app(name, {**APP, "where": name}, tweak)


@pytest.fixture(scope="module")
def client_node(jig: Jig, probe: Probe) -> str:
    return jig.pods({"probe": probe.name})[0].node


@pytest.fixture(scope="module")
def near_far(lab: LiveLab, jig: Jig, probe: Probe, client_node: str) -> tuple[Pod, Pod]:
    if len(lab.nodes) < 2:
        pytest.skip("needs a second node for the endpoint that is not local")
    jig.apply(myapp_deployment(1), placed("near", client_node, True))
    jig.apply(myapp_deployment(1), placed("far", client_node, False))
    near = jig.wait_ready_pods({**APP, "where": "near"}, 1)[0]
    far = jig.wait_ready_pods({**APP, "where": "far"}, 1)[0]
    jig.create_service("itp", tweak=lambda s: s["spec"].update(
        selector=APP, internalTrafficPolicy="Local", ports=[{"name": "http", "port": 80, "protocol": "TCP"},
                                                           {"name": "udp", "port": 80, "protocol": "UDP"}]))
    jig.wait_endpoints("itp", [near.ip, far.ip], facts=jig.facts("itp"))
    return near, far


def only_endpoint(jig: Jig, pod: Pod) -> Verdict:
    shown, conds = jig.endpoint_conditions("itp")
    alone = set(conds) == {pod.ip} and conds[pod.ip].get("ready") is True and not conds[pod.ip].get("terminating")
    return holds(f"{pod.name} is the Service's only endpoint, ready (none terminating)", alone,
                 f"{{{pod.ip!r}: ready, not terminating}}", str(conds), shown)


def ip(jig: Jig) -> str:
    return str(jig.get("service", "itp")["spec"]["clusterIP"])


def url(jig: Jig) -> str:
    return f"http://{ip(jig)}/hostname.html"


def test_internal_local_reaches_only_the_endpoint_on_the_clients_node(
        jig: Jig, probe: Probe, near_far: tuple[Pod, Pod]) -> None:
    near, _ = near_far
    probe.wait_answers(url(jig))
    verify_all([reaches_all(probe.curl(url(jig), REQUESTS), [near.name],
                            f"only {near.name}, on the client's node {near.node}, answers"),
                reaches_all(udp_batch(probe, ip(jig), 80, REQUESTS), [near.name],
                            f"only {near.name}, on the client's node {near.node}, answers UDP")], jig.facts("itp"))


def without_near(jig: Jig, probe: Probe, far: Pod) -> None:
    """near scaled to 0 and gone: a terminating local pod still answers (the Local policies fall
    back to serving, terminating endpoints: seen on nftables), so wait until it left the slices."""
    jig.run("scale", "deployment", "near", "--replicas", "0").check("kubectl scale deployment near --replicas 0")
    verify(settle(lambda: only_endpoint(jig, far), timeout=60)[0], jig.facts("itp"))


def with_near(jig: Jig, far: Pod) -> Pod:
    jig.run("scale", "deployment", "near", "--replicas", "1").check("kubectl scale deployment near --replicas 1")
    near = jig.wait_ready_pods({**APP, "where": "near"}, 1)[0]
    jig.wait_endpoints("itp", [near.ip, far.ip], facts=jig.facts("itp"))
    return near


def nothing_answers(jig: Jig, probe: Probe) -> list[Verdict]:
    return [unanswered(probe.curl(url(jig), 6)), unanswered(udp_batch(probe, ip(jig), 80, 6))]


def test_internal_local_with_no_local_endpoint_gets_no_answer(
        jig: Jig, probe: Probe, near_far: tuple[Pod, Pod]) -> None:
    far = near_far[1]
    without_near(jig, probe, far)  # left so for the control that follows, which puts near back
    verify(settle(lambda: unanswered(probe.curl(url(jig), 3)), timeout=30)[0], jig.facts("itp"))
    verify_all([v.noted(f"{far.name} on {far.node} is ready, and not local") for v in nothing_answers(jig, probe)],
               jig.facts("itp"))


def test_negative_control_with_no_local_endpoint_cluster_policy_answers_from_the_far_pod(
        jig: Jig, probe: Probe, near_far: tuple[Pod, Pod]) -> None:
    """The policy is why nothing answered: under Cluster, near still gone, the same check fails
    on TCP and UDP, the far pod answering every request."""
    far = near_far[1]
    without_near(jig, probe, far)
    jig.patch_service("itp", {"spec": {"internalTrafficPolicy": "Cluster"}})
    try:
        probe.wait_answers(url(jig), facts=jig.facts("itp"))
        broken = [refuted(v, "internalTrafficPolicy: Cluster, the far pod ready") for v in nothing_answers(jig, probe)]
    finally:
        jig.patch_service("itp", {"spec": {"internalTrafficPolicy": "Local"}})
        with_near(jig, far)
    for verdict in broken:
        assert verdict.data["counts"] == {far.name: 6}, verdict.report()


def test_negative_control_cluster_policy_reaches_the_other_node(
        jig: Jig, probe: Probe, near_far: tuple[Pod, Pod]) -> None:
    """The policy is the real cause: with internalTrafficPolicy Cluster on the same Service,
    the same check fails, the endpoint on the other node now answering part of the requests."""
    far = near_far[1]
    near = with_near(jig, far)
    jig.patch_service("itp", {"spec": {"internalTrafficPolicy": "Cluster"}})
    try:
        probe.wait_only(url(jig), [near.name, far.name], facts=jig.facts("itp"))
        broken = [refuted(reaches_all(batch, [near.name]), "internalTrafficPolicy: Cluster on the same Service")
                  for batch in (probe.curl(url(jig), REQUESTS), udp_batch(probe, ip(jig), 80, REQUESTS))]
    finally:
        jig.patch_service("itp", {"spec": {"internalTrafficPolicy": "Local"}})
    for verdict in broken:  # TCP and UDP: the far pod answered part of them
        assert verdict.data["counts"].get(far.name, 0) > 0, verdict.report()  # type: ignore[attr-defined]
