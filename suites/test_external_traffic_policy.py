"""externalTrafficPolicy: Local on a node port, from a client outside the cluster.

Only the node with a local endpoint answers, and the pod sees the client's own address; the
other nodes answer nothing (no fallback, no second hop). kube-proxy's health-check node port
says which nodes have one: 200 there, 503 elsewhere (how a cloud load balancer picks its nodes).
Cluster, for contrast: every node answers, and the pod sees a node's address (SNAT).

The Service is of type LoadBalancer, because only that type gets a health-check node port; no
load balancer address is needed for the node ports (test_loadbalancer checks the address).

One myapp pod: in a lab that mixes modes, on the node whose kube-proxy is under test (the IPVS
lab's VM); elsewhere where the scheduler puts it.
"""

from __future__ import annotations

import pytest

from svclab.expect import (
    Verdict,
    answered,
    holds,
    reaches_all,
    refuted,
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
    curl_batch,
    myapp_deployment,
    on_node,
    own_address,
    udp_batch,
    udp_too,
)

REQUESTS = 12
APP = {"app": "etp"}


@pytest.fixture(scope="module")
def local_pod(lab: LiveLab, jig: Jig) -> Pod:
    place = on_node(lab.client_node)

    def placed_udp(obj: dict[str, object]) -> None:
        place(obj)
        udp_too(obj)

    jig.apply(myapp_deployment(1), as_app("etp", APP, placed_udp))
    return jig.wait_ready_pods(APP, 1)[0]


@pytest.fixture(scope="module")
def ports(lab: LiveLab, jig: Jig, probe: Probe, shells: dict[str, Shell], local_pod: Pod) -> tuple[int, int, int]:
    """The Service's TCP node port, its health-check node port and its UDP node port, once
    kube-proxy on every node has synced it (a node still without it would refuse, as for a
    Service with no endpoints, and pass the absence checks for the wrong reason)."""
    if len(lab.nodes) < 2:
        pytest.skip("needs a second node, one without the endpoint")
    marks = lab.clocks(every_node=True)
    svc = jig.create_service("etp", type_="LoadBalancer", tweak=lambda s: s["spec"].update(
        selector=APP, externalTrafficPolicy="Local", ports=[{"name": "http", "port": 80, "protocol": "TCP"},
                                                            {"name": "udp", "port": 80, "protocol": "UDP"}]))
    jig.wait_endpoints("etp", [local_pod.ip], facts=jig.facts("etp"))
    verify(settle(lambda: lab.synced_since(marks), timeout=60)[0], jig.facts("etp"))
    node_ports = {p["protocol"]: int(p["nodePort"]) for p in svc["spec"]["ports"]}
    return node_ports["TCP"], int(svc["spec"]["healthCheckNodePort"]), node_ports["UDP"]


@pytest.fixture(scope="module")
def client_ip(outside: Client) -> str:
    return own_address(outside)


def answers_only_locally(lab: LiveLab, outside: Client, pod: Pod, ports: tuple[int, int, int]
                         ) -> list[tuple[str, Verdict]]:
    """The pod's node answers every request, over TCP and UDP; every other node answers none."""
    out = []
    for node in lab.nodes:
        url = f"http://{node.address}:{ports[0]}/hostname.html"
        where = f"{node.name} ({lab.mode_on(node.name)})"
        if node.name == pod.node:
            out += [(node.name, settle(lambda u=url, w=where: reaches_all(  # type: ignore[misc]
                        curl_batch(outside, u, REQUESTS), [pod.name], f"{w}, with the local endpoint, answers"),
                        timeout=60)[0]),
                    (node.name, reaches_all(udp_batch(outside, node.address, ports[2], REQUESTS), [pod.name],
                                            f"{where}, with the local endpoint, answers UDP"))]
        else:
            out += [(node.name, unanswered(curl_batch(outside, url, 3)).noted(f"{where} has no local endpoint")),
                    (node.name, unanswered(udp_batch(outside, node.address, ports[2], 3)).noted(
                        f"{where} has no local endpoint (UDP)"))]
    return out


def test_local_policy_answers_only_where_the_endpoint_is(lab: LiveLab, jig: Jig, outside: Client,
                                                         local_pod: Pod, ports: tuple[int, int, int]) -> None:
    verify_all([v for _, v in answers_only_locally(lab, outside, local_pod, ports)], jig.facts("etp"))


def test_local_policy_keeps_the_clients_address(jig: Jig, outside: Client, local_pod: Pod,
                                                ports: tuple[int, int, int], client_ip: str, lab: LiveLab) -> None:
    node = next(n for n in lab.nodes if n.name == local_pod.node)
    batch = curl_batch(outside, f"http://{node.address}:{ports[0]}/clientip", REQUESTS)
    datagrams = udp_batch(outside, node.address, ports[2], REQUESTS, "clientip")
    verify_all([source_seen(batch, [client_ip], "the pod sees the outside client's own address"),
                source_seen(datagrams, [client_ip], "the pod sees the outside client's own address over UDP")],
               jig.facts("etp"))


def test_health_check_node_port_says_which_nodes_have_an_endpoint(lab: LiveLab, jig: Jig, outside: Client,
                                                                  local_pod: Pod, ports: tuple[int, int, int]) -> None:
    out: list[Verdict] = []
    for node in lab.nodes:
        batch = curl_batch(outside, f"http://{node.address}:{ports[1]}/", 3)
        codes = sorted({a.http_code for a in batch.answers})
        want = 200 if node.name == local_pod.node else 503
        out.append(holds(f"{node.name}'s health check answers {want}", batch.short() is None and codes == [want],
                         f"3 answers, HTTP {want}", f"HTTP {codes}; {batch.failures()} not 200", batch.command))
    verify_all(out, jig.facts("etp"))


def test_negative_control_cluster_policy_answers_everywhere_and_hides_the_client(
        lab: LiveLab, jig: Jig, outside: Client, local_pod: Pod, ports: tuple[int, int, int], client_ip: str) -> None:
    """The policy is the real cause: with Cluster on the same Service, the same checks fail: the
    other nodes answer too, and a request through one of them reaches the pod from that node's
    address. On the endpoint's own node iptables and nftables hide the client too. IPVS there is
    not judged: on the VM node it kept the client's address in two runs and hid it in a third
    (each after kube-proxy's sync), so svclab states no expectation for it."""
    marks = lab.clocks(every_node=True)
    jig.patch_service("etp", {"spec": {"externalTrafficPolicy": "Cluster"}})
    try:
        verify(settle(lambda: lab.synced_since(marks), timeout=60)[0])
        others = [n for n in lab.nodes if n.name != local_pod.node]
        for node in others:  # the change is in force on every node before the checks
            url = f"http://{node.address}:{ports[0]}/hostname.html"
            verify_all([settle(lambda u=url: answered(curl_batch(outside, u, 3)), timeout=60)[0]])  # type: ignore[misc]
        for name, verdict in answers_only_locally(lab, outside, local_pod, ports):  # each other node's must fail
            if name != local_pod.node:
                refuted(verdict, f"externalTrafficPolicy: Cluster, {name} has no local endpoint")
        via = others[0]
        hidden = [refuted(source_seen(batch, [client_ip]), f"externalTrafficPolicy: Cluster, through {via.name}")
                  for batch in (curl_batch(outside, f"http://{via.address}:{ports[0]}/clientip", REQUESTS),
                                udp_batch(outside, via.address, ports[2], REQUESTS, "clientip"))]
        home = next(n for n in lab.nodes if n.name == local_pod.node)
        if lab.mode_on(home.name) != "ipvs":  # IPVS on the VM: kept the client twice, hid it once: not judged
            batch = curl_batch(outside, f"http://{home.address}:{ports[0]}/clientip", REQUESTS)
            refuted(source_seen(batch, [client_ip], f"through {home.name}, the endpoint's own node"),
                    "externalTrafficPolicy: Cluster on the same Service")
    finally:
        jig.patch_service("etp", {"spec": {"externalTrafficPolicy": "Local"}})
    for verdict in hidden:  # TCP and UDP: every answer came, none from the client's own address
        assert verdict.data["sources"] and client_ip not in verdict.data["sources"], verdict.report()  # type: ignore[operator]
