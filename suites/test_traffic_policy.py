"""internalTrafficPolicy: Local: a client pod reaches only the endpoints on its own node, and
with none there it gets no answer at all (no fallback to other nodes); Cluster, for contrast,
spreads over every node.

Two one-pod Deployments behind one Service: `near` on the client's node (the node whose
kube-proxy is under test), `far` on any other node.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from svclab.expect import Verdict, holds, reaches_all, refuted, settle, unanswered, verify
from svclab.plugin.fixtures import Jig, LiveLab, Pod, Probe, as_app, myapp_deployment

REQUESTS = 30
APP = {"app": "itp"}
HOSTNAME = "kubernetes.io/hostname"


def placed(name: str, node: str, on: bool) -> Callable[[dict[str, object]], None]:
    """myapp, one replica, named `name`, on `node` (on=True) or on any other node."""
    def tweak(obj: dict[str, object]) -> None:
        term = {"matchExpressions": [{"key": HOSTNAME, "operator": "In" if on else "NotIn", "values": [node]}]}
        obj["spec"]["template"]["spec"]["affinity"] = {  # type: ignore[index]
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}
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
    jig.create_service("itp", tweak=lambda s: s["spec"].update(selector=APP, internalTrafficPolicy="Local"))
    jig.wait_endpoints("itp", [near.ip, far.ip], facts=jig.facts("itp"))
    return near, far


def only_endpoint(jig: Jig, pod: Pod) -> Verdict:
    shown, conds = jig.endpoint_conditions("itp")
    return holds(f"{pod.name} is the Service's only endpoint (none terminating)", set(conds) == {pod.ip},
                 f"[{pod.ip}]", str(conds), shown)


def url(jig: Jig) -> str:
    return f"http://{jig.get('service', 'itp')['spec']['clusterIP']}/hostname.html"


def test_internal_local_reaches_only_the_endpoint_on_the_clients_node(
        jig: Jig, probe: Probe, near_far: tuple[Pod, Pod]) -> None:
    near, _ = near_far
    probe.wait_answers(url(jig))
    verify(reaches_all(probe.curl(url(jig), REQUESTS), [near.name],
                       f"only {near.name}, on the client's node {near.node}, answers"), jig.facts("itp"))


def test_internal_local_with_no_local_endpoint_gets_no_answer(
        jig: Jig, probe: Probe, near_far: tuple[Pod, Pod]) -> None:
    far = near_far[1]
    jig.run("scale", "deployment", "near", "--replicas", "0").check("kubectl scale deployment near --replicas 0")
    try:
        # a terminating local pod still answers (the Local policies fall back to serving, terminating
        # endpoints: seen on nftables), so wait until the near pod has left the slices entirely
        verify(settle(lambda: only_endpoint(jig, far), timeout=60)[0], jig.facts("itp"))
        verify(settle(lambda: unanswered(probe.curl(url(jig), 3)), timeout=30)[0], jig.facts("itp"))
        verify(unanswered(probe.curl(url(jig), 6)).noted(f"{far.name} on {far.node} is ready, and not local"),
               jig.facts("itp"))
    finally:
        jig.run("scale", "deployment", "near", "--replicas", "1").check("kubectl scale deployment near --replicas 1")
    fresh = jig.wait_ready_pods({**APP, "where": "near"}, 1)[0]
    jig.wait_endpoints("itp", [fresh.ip, far.ip], facts=jig.facts("itp"))


def test_negative_control_cluster_policy_reaches_the_other_node(
        jig: Jig, probe: Probe, near_far: tuple[Pod, Pod]) -> None:
    """The policy is the real cause: with internalTrafficPolicy Cluster on the same Service,
    the same check fails, the endpoint on the other node now answering part of the requests."""
    near = jig.wait_ready_pods({**APP, "where": "near"}, 1)[0]
    far = near_far[1]
    jig.patch_service("itp", {"spec": {"internalTrafficPolicy": "Cluster"}})
    try:
        probe.wait_only(url(jig), [near.name, far.name], facts=jig.facts("itp"))
        broken = refuted(reaches_all(probe.curl(url(jig), REQUESTS), [near.name]),
                         "internalTrafficPolicy: Cluster on the same Service")
    finally:
        jig.patch_service("itp", {"spec": {"internalTrafficPolicy": "Local"}})
    assert broken.data["counts"].get(far.name, 0) > 0, broken.report()  # type: ignore[attr-defined]
