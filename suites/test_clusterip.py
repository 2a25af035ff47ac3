"""ClusterIP (seed 000): a stable virtual IP that spreads requests over the ready pods."""

from __future__ import annotations

import ipaddress

import pytest

from svclab.expect import Verdict, holds, ipvs_virtual_server, reaches_all, round_robin, uniform_random, verify
from svclab.facts import service_facts
from svclab.fixtures import LiveLab
from svclab.jig import Jig, Pod, Probe
from svclab.probes import Batch

REQUESTS = 300


@pytest.fixture(scope="module")
def clusterip(jig: Jig, probe: Probe, myapp: list[Pod]) -> str:
    return jig.expose("myapp-clusterip", myapp, probe)


@pytest.fixture(scope="module")
def batch(probe: Probe, clusterip: str) -> Batch:
    return probe.curl(f"http://{clusterip}/hostname.html", REQUESTS)


def test_clusterip_is_inside_the_service_subnet(lab: LiveLab, clusterip: str) -> None:
    assert ipaddress.ip_address(clusterip) in ipaddress.ip_network(lab.spec.service_subnet)


def test_requests_reach_every_ready_pod(lab: LiveLab, jig: Jig, myapp: list[Pod], batch: Batch) -> None:
    verify(reaches_all(batch, [p.name for p in myapp]), service_facts(lab, jig, "myapp-clusterip"))


@pytest.mark.requires_proxy_mode("ipvs", reason="IPVS rr cycles through the pods")
def test_ipvs_rr_cycles_through_the_pods(myapp: list[Pod], batch: Batch) -> None:
    verify(round_robin(batch, [p.name for p in myapp]))


@pytest.mark.requires_proxy_mode("iptables", "nftables", reason="iptables/nftables choose at random")
def test_iptables_and_nftables_spread_at_random(myapp: list[Pod], batch: Batch) -> None:
    verify(uniform_random(batch, [p.name for p in myapp]))


@pytest.mark.requires_proxy_mode("ipvs", reason="ipvsadm shows IPVS virtual servers")
def test_ipvs_virtual_server_lists_exactly_the_endpoints(lab: LiveLab, jig: Jig, clusterip: str) -> None:
    verify(ipvs_virtual_server(lab.on_dataplane(["ipvsadm", "-Ln"]), clusterip, 80, lab.spec.ipvs_scheduler,
                               jig.endpoints("myapp-clusterip")))


def test_clusterip_stays_when_pods_are_recreated(jig: Jig, clusterip: str, myapp: list[Pod]) -> None:
    jig.run("delete", "pod", myapp[0].name, "--wait=false").check("kubectl delete pod")
    pods = jig.wait_ready_pods({"app": "myapp", "release": "v1"}, 3)
    assert myapp[0].name not in [p.name for p in pods]
    assert jig.get("service", "myapp-clusterip")["spec"]["clusterIP"] == clusterip
    jig.wait_endpoints("myapp-clusterip", [p.ip for p in pods])


def test_negative_control_wrong_selector_fails_with_the_checklist(lab: LiveLab, jig: Jig, probe: Probe,
                                                                 myapp: list[Pod]) -> None:
    """A Service whose selector matches no pod: the check fails and prints the seeds' checklist."""
    svc = jig.create_service("myapp-wrong-selector", tweak=lambda s: s["spec"].update(selector={"app": "nope"}))
    batch = probe.curl(f"http://{svc['spec']['clusterIP']}/hostname.html", 3)
    with pytest.raises(AssertionError) as failure:
        verify(reaches_all(batch, [p.name for p in myapp]), service_facts(lab, jig, "myapp-wrong-selector"))
    text = str(failure.value)
    assert "does NOT hold" in text and "endpoints (ready): []" in text and "selector: {'app': 'nope'}" in text
    assert "kubectl" in text and "exec" in text  # the command that reproduces the batch


@pytest.mark.requires_proxy_mode("ipvs", reason="the IPVS node is compared with a node in another mode")
def test_negative_control_from_a_node_in_another_mode_rr_does_not_hold(lab: LiveLab, jig: Jig, myapp: list[Pod],
                                                                        clusterip: str) -> None:
    """On the IPVS lab whose kind nodes run iptables (no ip_vs in their kernel), the same
    Service seen from a kind node spreads at random: the rr check fails there, so it passes
    only because requests go through the IPVS node."""
    other = [n.name for n in lab.nodes if n.role == "worker" and lab.mode_on(n.name) != "ipvs"]
    if not other:
        pytest.skip("every node of this lab runs ipvs: there is no node in another mode")
    elsewhere = Jig(lab.kubectl, jig.namespace, other[0]).start_probe("probe-elsewhere")
    spread = elsewhere.curl(f"http://{clusterip}/hostname.html", REQUESTS)
    answered = sorted(spread.counts())  # the pods now (an earlier test here replaces one)
    assert not spread.failed() and len(answered) == len(myapp), spread.command.describe()
    with pytest.raises(AssertionError) as failure:
        verify(round_robin(spread, answered))
    assert "rr cycles through the pods: does NOT hold" in str(failure.value), str(failure.value)


def bound_to_kube_ipvs0(lab: LiveLab, address: str) -> list[Verdict]:
    """`ip addr show kube-ipvs0` on every IPVS node lists address/32."""
    out = []
    for node, shown in lab.on_dataplane(["ip", "-o", "-4", "addr", "show", "dev", "kube-ipvs0"]).items():
        bound = [f.split()[3] for f in shown.stdout.splitlines() if len(f.split()) > 3]
        out.append(holds(f"{address} bound to kube-ipvs0 on {node}", shown.ok and f"{address}/32" in bound,
                         f"{address}/32 among kube-ipvs0's addresses", f"{len(bound)} addresses: {bound[:8]}",
                         shown))
    return out


@pytest.mark.requires_proxy_mode("ipvs", reason="IPVS binds every Service IP to the kube-ipvs0 dummy interface")
def test_ipvs_binds_the_clusterip_to_kube_ipvs0(lab: LiveLab, clusterip: str) -> None:
    for verdict in bound_to_kube_ipvs0(lab, clusterip):
        verify(verdict)


@pytest.mark.requires_proxy_mode("ipvs", reason="IPVS binds every Service IP to the kube-ipvs0 dummy interface")
def test_negative_control_an_address_of_no_service_is_not_on_kube_ipvs0(lab: LiveLab, clusterip: str) -> None:
    unused = lab.spec.lb_addresses()[-1]  # in the lab network; no Service has it
    with pytest.raises(AssertionError) as failure:
        for verdict in bound_to_kube_ipvs0(lab, unused):
            verify(verdict)
    assert f"{unused} bound to kube-ipvs0" in str(failure.value) and "does NOT hold" in str(failure.value)
