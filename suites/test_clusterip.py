"""ClusterIP (seed 000): a stable virtual IP that spreads requests over the ready pods."""

from __future__ import annotations

import ipaddress

import pytest

from svclab.expect import (
    RANDOM_SAMPLE,
    Verdict,
    holds,
    ipvs_virtual_server,
    random_choice,
    reaches_all,
    refuted,
    round_robin,
    settle,
    unanswered,
    verify,
    verify_all,
)
from svclab.plugin.fixtures import MYAPP_SELECTOR, SETTLE_REQUESTS, Batch, Jig, LiveLab, Pod, Probe

REQUESTS = 300  # rr: 100 full cycles


@pytest.fixture(scope="module")
def clusterip(jig: Jig, probe: Probe, myapp: list[Pod]) -> str:
    return jig.expose("myapp-clusterip", myapp, probe)


@pytest.fixture(scope="module")
def batch(probe: Probe, clusterip: str) -> Batch:
    return probe.curl(f"http://{clusterip}/hostname.html", REQUESTS)


def test_clusterip_is_inside_the_service_subnet(lab: LiveLab, clusterip: str) -> None:
    subnets = lab.service_subnets()
    if not subnets:
        pytest.skip("the cluster publishes no ServiceCIDR (Kubernetes before 1.33): its Service subnet is unknown")
    inside = any(ipaddress.ip_address(clusterip) in ipaddress.ip_network(s) for s in subnets)
    verify(holds("the ClusterIP the API server allocated is in the Service subnet", inside,
                 f"an address in {' or '.join(subnets)}", clusterip))


def test_requests_reach_every_ready_pod(lab: LiveLab, jig: Jig, myapp: list[Pod], batch: Batch) -> None:
    verify(reaches_all(batch, [p.name for p in myapp]), jig.facts("myapp-clusterip"))


@pytest.mark.requires_proxy_mode("ipvs", reason="IPVS rr cycles through the pods")
def test_ipvs_rr_cycles_through_the_pods(lab: LiveLab, jig: Jig, myapp: list[Pod], batch: Batch) -> None:
    verify(round_robin(batch, [p.name for p in myapp]), jig.facts("myapp-clusterip"))


@pytest.mark.requires_proxy_mode("iptables", "nftables", reason="iptables/nftables choose at random")
def test_iptables_and_nftables_choose_at_random(lab: LiveLab, jig: Jig, probe: Probe, myapp: list[Pod],
                                                clusterip: str) -> None:
    spread = probe.curl(f"http://{clusterip}/hostname.html", RANDOM_SAMPLE)
    verify(random_choice(spread, [p.name for p in myapp]), jig.facts("myapp-clusterip"))


@pytest.mark.requires_proxy_mode("ipvs", reason="ipvsadm shows IPVS virtual servers")
@pytest.mark.usefixtures("shells")
def test_ipvs_virtual_server_lists_exactly_the_endpoints(lab: LiveLab, jig: Jig, clusterip: str) -> None:
    verify(ipvs_virtual_server(lab.on_dataplane(["ipvsadm", "-Ln"]), clusterip, 80, lab.spec.ipvs_scheduler,
                               jig.endpoints("myapp-clusterip")))


def test_recreated_pods_get_new_ips_and_the_same_clusterip_reaches_them(
        lab: LiveLab, jig: Jig, probe: Probe, clusterip: str, myapp: list[Pod]) -> None:
    before = jig.pods(MYAPP_SELECTOR)
    jig.run("delete", "pod", before[0].name, "--wait=false").check("kubectl delete pod")
    after = jig.wait_ready_pods(MYAPP_SELECTOR, len(before))
    new = [p for p in after if p.name not in {b.name for b in before}]
    verify(holds("a recreated pod gets a new name and IP", len(new) == 1 and new[0].ip != before[0].ip,
                 f"one new pod replacing {before[0].name} ({before[0].ip}) with another IP",
                 ", ".join(f"{p.name} {p.ip}" for p in new) or "no new pod"))
    jig.wait_endpoints("myapp-clusterip", [p.ip for p in after])
    probe.wait_only(f"http://{clusterip}/hostname.html", [p.name for p in after])
    verify(reaches_all(probe.curl(f"http://{clusterip}/hostname.html", 60), [p.name for p in after]),
           jig.facts("myapp-clusterip"))


def test_negative_control_a_selector_that_matches_nothing_reaches_no_pod(lab: LiveLab, jig: Jig, probe: Probe,
                                                                       myapp: list[Pod]) -> None:
    """The real cause of "reaches every ready pod" is the selector: the same check on the same
    Service holds, then fails once its selector matches no pod, and holds again once restored."""
    now = jig.pods(MYAPP_SELECTOR)  # an earlier test here may have replaced a pod
    ip = jig.expose("myapp-control", now, probe)
    url, pods = f"http://{ip}/hostname.html", [p.name for p in now]
    verify(reaches_all(probe.curl(url, 60), pods))
    jig.patch_service("myapp-control", {"spec": {"selector": {"app": "nothing"}}})
    jig.wait_endpoints("myapp-control", [])
    silent, _ = settle(lambda: unanswered(probe.curl(url, SETTLE_REQUESTS)), timeout=jig.timings.absence_window())
    verify(silent.noted("kube-proxy followed the empty endpoints"))
    # 12, not 60: past the first few, each refusal waits ~1 s for the kernel's rate-limited ICMP reject
    broken = refuted(reaches_all(probe.curl(url, 12), pods), "the Service's selector matching no pod")
    assert broken.data["answered"] == 12 and broken.data["failures"] == 12, broken.report()
    jig.patch_service("myapp-control", {"spec": {"selector": dict(MYAPP_SELECTOR)}})
    jig.wait_endpoints("myapp-control", [p.ip for p in now])
    probe.wait_only(url, pods)
    verify(reaches_all(probe.curl(url, 60), pods))


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
    pods = [p.name for p in jig.pods(MYAPP_SELECTOR)]
    verify(reaches_all(spread, pods, f"every pod answers from {other[0]} ({lab.mode_on(other[0])})"))
    refuted(round_robin(spread, pods), f"requests entering through {other[0]}, a node in {lab.mode_on(other[0])} mode")


def bound_to_kube_ipvs0(lab: LiveLab, address: str, want: bool = True) -> list[Verdict]:
    """`ip addr show kube-ipvs0` on every IPVS node lists (or no longer lists) address/32."""
    out = []
    for node, shown in lab.on_dataplane(["ip", "-o", "-4", "addr", "show", "dev", "kube-ipvs0"]).items():
        bound = [f.split()[3] for f in shown.stdout.splitlines() if len(f.split()) > 3]
        ok = shown.ok and bool(bound) and (f"{address}/32" in bound) == want
        out.append(holds(f"{address} {'bound to' if want else 'gone from'} kube-ipvs0 on {node}", ok,
                         f"kube-ipvs0 exists, with its addresses {'including' if want else 'not including'} "
                         f"{address}/32", f"{len(bound)} addresses: {bound[:8]}", shown))
    return out


@pytest.mark.requires_proxy_mode("ipvs", reason="IPVS binds every Service IP to the kube-ipvs0 dummy interface")
@pytest.mark.usefixtures("shells")
def test_ipvs_binds_the_clusterip_to_kube_ipvs0(lab: LiveLab, clusterip: str) -> None:
    verify_all(bound_to_kube_ipvs0(lab, clusterip))


@pytest.mark.requires_proxy_mode("ipvs", reason="IPVS binds every Service IP to the kube-ipvs0 dummy interface")
@pytest.mark.usefixtures("shells")
def test_negative_control_a_deleted_service_leaves_kube_ipvs0(lab: LiveLab, jig: Jig, probe: Probe,
                                                              myapp: list[Pod]) -> None:
    """Delete a Service and watch its IP leave kube-ipvs0: the binding check then fails."""
    ip = jig.expose("myapp-leaving", jig.pods(MYAPP_SELECTOR), probe)
    verify_all(bound_to_kube_ipvs0(lab, ip))
    jig.run("delete", "service", "myapp-leaving").check("kubectl delete service")
    window = jig.timings.absence_window()
    gone, _ = settle(lambda: _all(bound_to_kube_ipvs0(lab, ip, want=False)), timeout=window)
    verify(gone)
    for verdict in bound_to_kube_ipvs0(lab, ip):
        refuted(verdict, "the Service deleted")


def _all(verdicts: list[Verdict]) -> Verdict:
    bad = [v for v in verdicts if not v.ok] or verdicts
    return bad[0] if bad else holds("no IPVS node to read", False, "an IPVS node", "none")
