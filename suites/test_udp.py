"""UDP Services, and a Service with several ports and both protocols on one port.

One Service, `multi`: port 80 over TCP and over UDP, and port 8080 over TCP, in front of three
myapp pods that answer HTTP on 80 and 8080 and datagrams on 80 (a datagram's answer is the pod's
name, or the source it saw for "clientip"). Every datagram of a batch leaves from a new socket,
so the proxy chooses a backend for each, as curl's new connections make it choose for HTTP.

A UDP flow (one socket, so one conntrack entry) that keeps sending never times out; when the pod
it reaches is replaced, only kube-proxy's conntrack clean-up moves it to another pod.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from svclab.expect import (
    Verdict,
    answered,
    flow_moved,
    flow_pinned,
    holds,
    reaches_all,
    refuted,
    rejected,
    settle,
    source_seen,
    unanswered,
    verify,
    verify_all,
)
from svclab.plugin.fixtures import (
    Client,
    Jig,
    LiveLab,
    Pod,
    Probe,
    Shell,
    as_app,
    myapp_deployment,
    udp_batch,
    udp_flow,
    udp_flow_entries,
    udp_too,
)

pytestmark = pytest.mark.changes_cluster("stops kube-proxy on one node for about a minute (SIGSTOP), then resumes it")

REQUESTS = 30  # per port: one of three pods missing from 30 has p = 3 * (2/3)^30 < 1e-5
APP = {"app": "multi"}
PORTS = [{"name": "http", "port": 80, "targetPort": 80, "protocol": "TCP"},
         {"name": "dns-like", "port": 80, "targetPort": 80, "protocol": "UDP"},
         {"name": "alt", "port": 8080, "targetPort": 8080, "protocol": "TCP"}]
FLOW_LIMIT = 40  # datagrams, each followed by 0.5 s: a flow lasts 20 to 60 s at most
MOVED = 5  # answers from the other pod that end the flow
WITHIN = 20.0  # s from the old pod's last answer to the new pod's first (kube-proxy's sync and clean-up)


def alt_port(obj: dict[str, object]) -> None:
    """myapp answers HTTP on 80 and 8080, and datagrams on 80."""
    udp_too(obj)
    box = obj["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]
    box["env"].append({"name": "MYAPP_PORTS", "value": "80,8080"})
    box["ports"].append({"name": "alt", "containerPort": 8080})


@pytest.fixture(scope="module")
def pods(jig: Jig) -> list[Pod]:
    jig.apply(myapp_deployment(3), as_app("multi", APP, alt_port))
    return jig.wait_ready_pods(APP, 3)


@pytest.fixture(scope="module")
def svc(jig: Jig, probe: Probe, pods: list[Pod]) -> dict[str, object]:
    made = jig.create_service("multi", type_="NodePort", tweak=lambda s: s["spec"].update(selector=APP, ports=PORTS))
    jig.wait_endpoints("multi", [p.ip for p in pods], facts=jig.facts("multi"))
    ip = str(made["spec"]["clusterIP"])
    probe.wait_answers(f"http://{ip}/hostname.html", facts=jig.facts("multi"))
    verify(settle(lambda: answered(udp_batch(probe, ip, 80, 3)), timeout=60)[0], jig.facts("multi"))
    return made


def cluster_ip(svc: dict[str, object]) -> str:
    return str(svc["spec"]["clusterIP"])  # type: ignore[index]


def udp_node_port(svc: dict[str, object]) -> int:
    return int(next(p["nodePort"] for p in svc["spec"]["ports"] if p["protocol"] == "UDP"))  # type: ignore[index]


def every_port(probe: Probe, ip: str, names: list[str]) -> list[Verdict]:
    return [reaches_all(probe.curl(f"http://{ip}/hostname.html", REQUESTS), names, "TCP 80 reaches every pod"),
            reaches_all(udp_batch(probe, ip, 80, REQUESTS), names, "UDP 80 reaches every pod"),
            reaches_all(probe.curl(f"http://{ip}:8080/hostname.html", REQUESTS), names, "TCP 8080 reaches every pod")]


def test_each_port_and_protocol_reaches_every_pod(jig: Jig, probe: Probe, pods: list[Pod],
                                                   svc: dict[str, object]) -> None:
    verify_all(every_port(probe, cluster_ip(svc), [p.name for p in pods]), jig.facts("multi"))


def test_udp_node_port_answers_on_every_node(lab: LiveLab, jig: Jig, outside: Client, pods: list[Pod],
                                             svc: dict[str, object]) -> None:
    port = udp_node_port(svc)
    verify_all([answered(udp_batch(outside, n.address, port, 6)).noted(f"{n.name} ({lab.mode_on(n.name)})")
                for n in lab.nodes], jig.facts("multi"))


def test_udp_pod_sees_the_clients_address(jig: Jig, probe: Probe, pods: list[Pod], svc: dict[str, object]) -> None:
    mine = jig.pods({"probe": probe.name})[0].ip
    verify(source_seen(udp_batch(probe, cluster_ip(svc), 80, 6, "clientip"), [mine],
                       "the pod sees the probe's own address over UDP"), jig.facts("multi"))


def replace_during_flow(jig: Jig, probe: Probe, node: Shell, svc: dict[str, object], sport: int
                        ) -> tuple[list[Verdict], str]:
    """Start a flow, find in the client node's conntrack table which pod it is pinned to, delete
    that pod, and let the flow run to its end. The Deployment makes a new pod meanwhile."""
    ip = cluster_ip(svc)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(udp_flow, probe, ip, 80, FLOW_LIMIT, MOVED, sport)
        pinned, _ = settle(lambda: flow_pinned(*udp_flow_entries(node, ip, sport)), timeout=30)
        verify(pinned, jig.facts("multi"))
        by_ip = {p.ip: p for p in jig.pods(APP)}
        victim = by_ip.get(str(pinned.data["backend"]))
        if victim is None:
            running.cancel()
        verify(holds("the flow is pinned to one of the Service's pods", victim is not None, str(sorted(by_ip)),
                     str(pinned.data["backend"])), jig.facts("multi"))
        assert victim is not None
        jig.run("delete", "pod", victim.name, "--wait=false").check(f"kubectl delete pod {victim.name}")
        flow = running.result()
    after = flow_pinned(*udp_flow_entries(node, ip, sport))
    moved = flow_moved(flow, MOVED, WITHIN, victim.name).noted(f"{victim.name} ({victim.ip}) deleted during the flow")
    return [moved, holds_elsewhere(after, victim.ip)], victim.name


def holds_elsewhere(entry: Verdict, gone: str) -> Verdict:
    backend = entry.data.get("backend")
    return Verdict("the flow's conntrack entry now points at another pod", entry.ok and backend != gone,
                   f"an entry for the flow, to a pod other than {gone}", str(entry.observed), entry.evidence,
                   data=entry.data)


def test_udp_flow_moves_when_its_pod_is_replaced(jig: Jig, probe: Probe, shells: dict[str, Shell],
                                                 pods: list[Pod], svc: dict[str, object]) -> None:
    node = jig.pods({"probe": probe.name})[0].node
    try:
        verify_all(replace_during_flow(jig, probe, shells[node], svc, 41234)[0], jig.facts("multi"))
    finally:
        jig.wait_ready_pods(APP, 3)


def test_negative_control_frozen_kube_proxy_leaves_the_flow_on_the_gone_pod(
        jig: Jig, probe: Probe, shells: dict[str, Shell], pods: list[Pod], svc: dict[str, object]) -> None:
    """kube-proxy on the client's node is the real cause: stopped (SIGSTOP) while the pod is
    replaced, nothing deletes the flow's conntrack entry (nor the gone pod's rules), and the same
    check fails: the flow stays pinned to the gone pod until its datagrams run out."""
    node = shells[jig.pods({"probe": probe.name})[0].node]
    node.run(["pkill", "-STOP", "-x", "kube-proxy"]).check("pkill -STOP -x kube-proxy")
    try:
        verdicts, victim = replace_during_flow(jig, probe, node, svc, 41235)
    finally:
        node.run(["pkill", "-CONT", "-x", "kube-proxy"]).check("pkill -CONT -x kube-proxy")
        jig.wait_ready_pods(APP, 3)
    broken = refuted(verdicts[0], "kube-proxy stopped on the client's node while the pod was replaced")
    # first answered by the deleted pod, then never by another: the flow ran to its limit, whole
    assert broken.data["first"] == victim and broken.data["moved_to"] is None, broken.report()
    assert broken.data["whole"] and broken.data["sent"] == broken.data["limit"], broken.report()
    # kube-proxy, running again, programs the new pod: the Service answers UDP again
    verify(settle(lambda: answered(udp_batch(probe, cluster_ip(svc), 80, 3)), timeout=60)[0], jig.facts("multi"))


def test_negative_control_without_its_udp_port_the_service_does_not_answer_udp(
        jig: Jig, probe: Probe, pods: list[Pod], svc: dict[str, object]) -> None:
    """The Service's UDP port is the real cause: removed from the Service, the same check fails
    for UDP, while both TCP ports still reach every pod."""
    ip, names = cluster_ip(svc), [p.name for p in jig.wait_ready_pods(APP, 3)]  # two were replaced above
    jig.patch_service("multi", {"spec": {"ports": [p for p in PORTS if p["protocol"] == "TCP"]}})
    try:
        verify(settle(lambda: unanswered(udp_batch(probe, ip, 80, 3)), timeout=60)[0], jig.facts("multi"))
        tcp80, udp80, tcp8080 = every_port(probe, ip, names)
        refuted(udp80, "the Service without its UDP port")
        verify_all([tcp80, tcp8080], jig.facts("multi"))
    finally:
        jig.patch_service("multi", {"spec": {"ports": PORTS}})
    verify(settle(lambda: answered(udp_batch(probe, ip, 80, 3)), timeout=60)[0], jig.facts("multi"))


def test_udp_with_no_endpoints_is_refused_at_once(jig: Jig, probe: Probe, svc: dict[str, object]) -> None:
    """No endpoints: each datagram is refused (ICMP port unreachable from kube-proxy's reject
    rule), as TCP is. Five datagrams: within the kernel's ICMP burst of 6 per client (after it,
    one a second: a datagram, unlike a SYN, is never sent again to meet the next one)."""
    ip = cluster_ip(svc)
    jig.patch_service("multi", {"spec": {"selector": {"app": "nobody"}}})
    try:
        jig.wait_endpoints("multi", [], facts=jig.facts("multi"))
        refused = settle(lambda: rejected(udp_batch(probe, ip, 80, 5), 0.5, "every datagram refused at once"),
                         timeout=60, interval=2)[0]
    finally:
        jig.patch_service("multi", {"spec": {"selector": APP}})
    jig.wait_endpoints("multi", [p.ip for p in jig.wait_ready_pods(APP, 3)], facts=jig.facts("multi"))
    verify(refused, jig.facts("multi"))


def test_negative_control_udp_refusal_check_fails_with_endpoints(jig: Jig, probe: Probe,
                                                                 svc: dict[str, object]) -> None:
    """The empty endpoint set is the real cause: with the pods behind the Service again, the
    same check fails, every datagram answered."""
    ip = cluster_ip(svc)
    verify(settle(lambda: answered(udp_batch(probe, ip, 80, 3)), timeout=60)[0], jig.facts("multi"))
    broken = refuted(rejected(udp_batch(probe, ip, 80, 5), 0.5), "the pods behind the Service again")
    assert broken.data["answered"] == 5 and broken.data["kinds"] == {"HTTP 200": 5}, broken.report()
