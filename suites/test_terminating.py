"""Terminating endpoints, and publishNotReadyAddresses.

When a Service has no ready endpoint left, kube-proxy sends its traffic to the endpoints that are
terminating but still serving (KEP-1669), under the Cluster and the Local traffic policy alike, so
that a drain loses no request. The pods here keep serving for DRAIN s after SIGTERM (myapp's
MYAPP_DRAIN_SECONDS) and their readiness probe keeps passing: their endpoints read ready=false,
serving=true, terminating=true.

publishNotReadyAddresses: a Service that publishes pods that are not ready sends traffic to them
(their EndpointSlice says ready); without it they get none.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from svclab.expect import (
    Verdict,
    answered,
    holds,
    reaches_all,
    reaches_or_quiesced,
    refuted,
    settle,
    unanswered,
    verify,
    verify_all,
)
from svclab.plugin.fixtures import (
    Batch,
    Client,
    Jig,
    LiveLab,
    Pod,
    Probe,
    as_app,
    curl_batch,
    myapp_deployment,
    on_node,
)

DRAIN = 60  # s a terminating pod keeps serving: room for the settle and the checks
REQUESTS = 30  # two pods: one missing from 30 has p = 2 * (1/2)^30
APP = {"app": "drain"}


def draining(obj: dict[str, object]) -> None:
    spec = obj["spec"]["template"]["spec"]  # type: ignore[index]
    spec["terminationGracePeriodSeconds"] = DRAIN + 30
    spec["containers"][0]["env"] = [{"name": "MYAPP_DRAIN_SECONDS", "value": str(DRAIN)}]


@pytest.fixture(scope="module")
def services(lab: LiveLab, jig: Jig) -> dict[str, dict[str, object]]:
    """`drain` (ClusterIP, Cluster policy) and `drain-local` (NodePort, externalTrafficPolicy
    Local), both in front of the draining pods, which sit on the node under test when the lab
    mixes modes."""
    place = on_node(lab.client_node)

    def draining_placed(obj: dict[str, object]) -> None:
        draining(obj)
        place(obj)

    jig.apply(myapp_deployment(2), as_app("drain", APP, draining_placed))
    return {"drain": jig.create_service("drain", tweak=lambda s: s["spec"].update(selector=APP)),
            "drain-local": jig.create_service("drain-local", type_="NodePort", tweak=lambda s: s["spec"].update(
                selector=APP, externalTrafficPolicy="Local"))}


@pytest.fixture
def pods(jig: Jig, probe: Probe, services: dict[str, dict[str, object]]) -> Iterator[list[Pod]]:
    """Two fresh pods, ready and answering; afterwards, whatever still terminates is removed."""
    jig.run("scale", "deployment", "drain", "--replicas", "2").check("kubectl scale deployment drain --replicas 2")
    fresh = jig.wait_ready_pods(APP, 2)
    for name in services:
        jig.wait_endpoints(name, [p.ip for p in fresh], facts=jig.facts(name))
    probe.wait_answers(url(services), facts=jig.facts("drain"))
    yield fresh
    jig.run("delete", "pods", "-l", "app=drain", "--grace-period=0", "--force")


def url(services: dict[str, dict[str, object]]) -> str:
    return f"http://{services['drain']['spec']['clusterIP']}/hostname.html"  # type: ignore[index]


def conditions_are(jig: Jig, pods: list[Pod], want: dict[str, bool]) -> Verdict:
    shown, conds = jig.endpoint_conditions("drain")
    seen = {p.name: {k: conds.get(p.ip, {}).get(k) for k in want} for p in pods}
    return holds(f"the pods' endpoints read {want}", all(s == want for s in seen.values()), str(want), str(seen), shown)


def drain_all(jig: Jig, pods: list[Pod]) -> None:
    """Scale to zero: every pod terminates (still serving), none is ready."""
    jig.run("scale", "deployment", "drain", "--replicas", "0").check("kubectl scale deployment drain --replicas 0")
    want = {"ready": False, "serving": True, "terminating": True}
    verify(settle(lambda: conditions_are(jig, pods, want), timeout=30)[0], jig.facts("drain"))


def fallback_checks(lab: LiveLab, jig: Jig, probe: Probe, outside: Client, pods: list[Pod],
                    services: dict[str, dict[str, object]], count: int = REQUESTS) -> list[Verdict]:
    """The terminating pods answer through the ClusterIP, and through each of their nodes' node
    port under the Local policy (only that node's own pods)."""
    port = services["drain-local"]["spec"]["ports"][0]["nodePort"]  # type: ignore[index]
    cluster_ip = services["drain"]["spec"]["clusterIP"]  # type: ignore[index]
    client_node = jig.pods({"probe": probe.name})[0].node  # whose data plane the probe's requests go through
    out = [judged(lab, client_node, probe.curl(url(services), count), pods, str(cluster_ip), 80,
                  "the terminating pods answer through the ClusterIP (Cluster policy)")]
    for node in lab.nodes:
        local = [p for p in pods if p.node == node.name]
        if local:
            out.append(judged(lab, node.name, curl_batch(outside, f"http://{node.address}:{port}/hostname.html",
                                                         count), local, node.address, int(port),
                              f"{node.name}'s terminating pods answer its node port (Local policy)"))
    return out


def judged(lab: LiveLab, node: str, batch: Batch, pods: list[Pod], address: str, port: int, name: str) -> Verdict:
    """Every terminating pod answers; where IPVS runs, a pod IPVS holds at weight 0 is quiesced,
    not lost (read from ipvsadm on that node: the finding says so)."""
    verdict = reaches_all(batch, [p.name for p in pods], name)
    if verdict.ok or lab.mode_on(node) != "ipvs":
        return verdict
    table = lab.on(node).run(["ipvsadm", "-Ln", "-t", f"{address}:{port}"])
    return reaches_or_quiesced(batch, {p.name: p.ip for p in pods}, table, address, port, name)


def test_with_no_ready_endpoint_the_terminating_ones_still_answer(
        lab: LiveLab, jig: Jig, probe: Probe, outside: Client, pods: list[Pod],
        services: dict[str, dict[str, object]]) -> None:
    drain_all(jig, pods)
    # kube-proxy reprograms after each pod's slice update, one pod at a time (seen on nftables:
    # 30 of 30 to one pod right after the API showed both terminating): wait until both answer
    names = [p.name for p in pods]
    verify(settle(lambda: reaches_all(probe.curl(url(services), 12), names), timeout=30)[0], jig.facts("drain"))
    port = services["drain-local"]["spec"]["ports"][0]["nodePort"]  # type: ignore[index]
    for node in lab.nodes:  # the node port's own service is programmed apart (IPVS: 30 of 30 to one pod first)
        local = [p.name for p in pods if p.node == node.name]
        if local:
            node_url = f"http://{node.address}:{port}/hostname.html"
            verify(settle(lambda u=node_url, ln=local: reaches_all(curl_batch(outside, u, 12), ln),  # type: ignore[misc]
                          timeout=20)[0], jig.facts("drain"))
    verify_all(fallback_checks(lab, jig, probe, outside, pods, services), jig.facts("drain"))


def test_negative_control_terminating_pods_that_stop_serving_get_nothing(
        lab: LiveLab, jig: Jig, probe: Probe, outside: Client, pods: list[Pod],
        services: dict[str, dict[str, object]]) -> None:
    """The serving condition is the real cause: the same terminating pods, their readiness probe
    made to fail (serving=false), get no request: every one refused or dropped by kube-proxy,
    none a 503 from a pod."""
    drain_all(jig, pods)
    for pod in pods:
        probe.run(["curl", "-s", "--max-time", "2", f"http://{pod.ip}/admin/ready?state=0"]).check(
            f"{pod.name}: readiness made to fail")
    off = {"ready": False, "serving": False, "terminating": True}
    verify(settle(lambda: conditions_are(jig, pods, off), timeout=30)[0], jig.facts("drain"))
    # the pods' endpoints keep changing while they terminate, so a kube-proxy sync after a mark
    # proves nothing here: wait until no pod is reached, then check a fresh sample
    verify(settle(lambda: unanswered(probe.curl(url(services), 3)), timeout=30)[0], jig.facts("drain"))
    # 6 requests a path: a dropped one waits out curl's 2 s, and the pods drain for DRAIN s only
    for verdict in fallback_checks(lab, jig, probe, outside, pods, services, count=6):
        broken = refuted(verdict, "the terminating pods no longer serving")
        assert not any(broken.data["counts"].values()), broken.report()  # type: ignore[attr-defined]
        assert set(broken.data["curl_exits"]) <= {"7", "28"}, broken.report()  # type: ignore[call-overload]
    # and they were still there, terminating and not serving, when it was checked
    verify(conditions_are(jig, pods, off), jig.facts("drain"))


def published(jig: Jig, probe: Probe, pods: list[Pod]) -> str:
    """Both pods made not ready, behind `drain-pna` (publishNotReadyAddresses: true), answering
    on /clientip (myapp serves it whether ready or not); its URL."""
    for pod in pods:
        probe.run(["curl", "-s", "--max-time", "2", f"http://{pod.ip}/admin/ready?state=0"]).check(
            f"{pod.name}: readiness made to fail")
    jig.wait_endpoints("drain", [], facts=jig.facts("drain"))
    svc = jig.create_service("drain-pna", tweak=lambda s: s["spec"].update(selector=APP, publishNotReadyAddresses=True))
    jig.wait_endpoints("drain-pna", [p.ip for p in pods], facts=jig.facts("drain-pna"))
    pna = f"http://{svc['spec']['clusterIP']}/clientip"
    verify(settle(lambda: answered(probe.curl(pna, 6)), timeout=60)[0], jig.facts("drain-pna"))
    return pna


def test_publish_not_ready_addresses_sends_traffic_to_pods_that_are_not_ready(
        jig: Jig, probe: Probe, pods: list[Pod], services: dict[str, dict[str, object]]) -> None:
    pna = published(jig, probe, pods)
    verify(answered(probe.curl(pna, REQUESTS)).noted("both pods not ready"), jig.facts("drain-pna"))


def test_negative_control_without_publish_not_ready_addresses_they_get_nothing(
        jig: Jig, probe: Probe, pods: list[Pod], services: dict[str, dict[str, object]]) -> None:
    """The field is the cause: turned off on the same Service, the same check fails, every
    request refused or dropped (none answered by a pod)."""
    pna = published(jig, probe, pods)
    jig.patch_service("drain-pna", {"spec": {"publishNotReadyAddresses": False}})
    jig.wait_endpoints("drain-pna", [], facts=jig.facts("drain-pna"))
    verify(settle(lambda: unanswered(probe.curl(pna, 3)), timeout=30)[0], jig.facts("drain-pna"))
    broken = refuted(answered(probe.curl(pna, 12)), "publishNotReadyAddresses: false")
    assert not broken.data["counts"], broken.report()
    assert set(broken.data["curl_exits"]) <= {"7", "28"}, broken.report()  # type: ignore[call-overload]
