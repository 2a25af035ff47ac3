"""Source addresses and hairpin through a ClusterIP.

A pod that calls a ClusterIP is seen by the backend with its own address: kube-proxy only
masquerades what needs it (traffic from outside the pod network, and hairpin). A pod reaches
itself through its own Service (hairpin): the bridge sends the packet back out of the port it
came in on (labnet's bridge ports have hairpin mode on), with its source masqueraded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import cast

import pytest

from svclab.expect import Verdict, holds, reaches_all, refuted, settle, source_seen, verify
from svclab.plugin.fixtures import (
    Batch,
    Jig,
    LiveLab,
    Pod,
    Probe,
    Shell,
    as_app,
    kube_proxy_config,
    myapp_deployment,
    on_node,
    put_kube_proxy_config,
    set_masquerade_all,
)

REQUESTS = 20
HAIRPIN = {"app": "hairpin"}
BRIDGE = "labnet0"  # labnet's bridge: one port per pod's veth


@pytest.fixture(scope="module")
def clusterip(jig: Jig, probe: Probe, myapp: list[Pod]) -> str:
    return jig.expose("myapp-source", myapp, probe)


@pytest.fixture(scope="module")
def probe_ip(jig: Jig, probe: Probe) -> str:
    return jig.pods({"probe": probe.name})[0].ip


@pytest.fixture(scope="module")
def lone(lab: LiveLab, jig: Jig, probe: Probe) -> tuple[Pod, str]:
    """One myapp pod alone behind a Service of its own, on the node whose kube-proxy is under
    test: every request it sends to that ClusterIP comes back to itself."""
    jig.apply(myapp_deployment(1), as_app("hairpin", HAIRPIN, on_node(lab.client_node)))
    pod = jig.wait_ready_pods(HAIRPIN, 1)[0]
    ip = jig.expose("hairpin", [pod], probe, tweak=lambda s: s["spec"].update(selector=HAIRPIN))
    return pod, ip


def hairpin_url(pod: Pod, clusterip: str) -> str:
    """The pod itself fetches its own Service (myapp's /fetch): the probe only asks it to."""
    return f"http://{pod.ip}/fetch?url=http://{clusterip}/hostname.html"


def test_pod_to_clusterip_keeps_the_client_pod_address(probe: Probe, clusterip: str, probe_ip: str) -> None:
    verify(source_seen(probe.curl(f"http://{clusterip}/clientip", REQUESTS), [probe_ip],
                       "each myapp pod sees the probe pod's own address"))


def test_pod_reaches_itself_through_its_own_service(jig: Jig, probe: Probe, lone: tuple[Pod, str]) -> None:
    pod, ip = lone
    verify(reaches_all(probe.curl(hairpin_url(pod, ip), REQUESTS), [pod.name],
                       f"{pod.name} reaches itself through its Service's ClusterIP (hairpin)"), jig.facts("hairpin"))


@pytest.mark.changes_cluster("sets masqueradeAll in kube-proxy's ConfigMap and restarts kube-proxy")
def test_negative_control_masquerade_all_hides_the_client(
        lab: LiveLab, jig: Jig, probe: Probe, clusterip: str, probe_ip: str) -> None:
    """kube-proxy not masquerading pod traffic is the real cause: with masqueradeAll on, the
    same check fails, every request still answered, from the nodes' addresses instead."""
    original = kube_proxy_config(lab.kubectl)
    url = f"http://{clusterip}/clientip"
    try:
        set_masquerade_all(lab.kubectl, True)
        # a restarted kube-proxy is Ready before its first sync: wait until its rules are in
        verify(settle(lambda: masqueraded(probe.curl(url, REQUESTS), probe_ip), timeout=120)[0])
        broken = refuted(source_seen(probe.curl(url, REQUESTS), [probe_ip]),
                         "kube-proxy masquerading all Service traffic (masqueradeAll: true)")
    finally:
        put_kube_proxy_config(lab.kubectl, original, "restoring kube-proxy's original configuration")
    assert broken.data["answered"] == REQUESTS and probe_ip not in broken.data["sources"], broken.report()  # type: ignore[operator]
    verify(settle(lambda: source_seen(probe.curl(url, REQUESTS), [probe_ip],
                                      "the probe's address is seen again after the restore"), timeout=120)[0])


def masqueraded(batch: Batch, probe_ip: str) -> Verdict:
    """The sanity check after the change: every request answered, none naming the probe."""
    seen = source_seen(batch, [probe_ip])
    sources = cast(dict[str, int], seen.data["sources"])
    ok = seen.data["answered"] == REQUESTS == sum(sources.values()) and probe_ip not in sources
    return holds("kube-proxy's masqueradeAll is in force", ok, f"{REQUESTS} answers, none from {probe_ip}",
                 seen.observed, *seen.evidence)


def bridge_port(node: Shell, ip: str) -> str:
    """The bridge port (the veth) a pod's address sits behind: its MAC from the node's
    neighbour table, the port from the bridge's forwarding database."""
    neigh = node.run(["ip", "neigh", "show", ip, "dev", BRIDGE]).check(f"the node's neighbour entry for {ip}")
    mac = re.search(r"lladdr (\S+)", neigh.stdout)
    fdb = node.run(["bridge", "fdb", "show", "br", BRIDGE]).check("the bridge's forwarding database")
    ports = [line.split()[2] for line in fdb.stdout.splitlines() if mac and line.startswith(f"{mac[1]} dev ")]
    assert ports, f"no bridge port found for {ip} (MAC {mac[1] if mac else '?'}):\n{neigh.stdout}\n{fdb.stdout}"
    return ports[0]


def hairpin_flag(node: Shell, port: str) -> str:
    """A bridge port's hairpin flag, "on" or "off", from netlink (sysfs is read-only inside
    kind's node containers)."""
    shown = node.run(["ip", "-d", "-o", "link", "show", "dev", port]).check(f"showing {port}")
    found = re.search(r"\bhairpin (on|off)\b", shown.stdout)
    assert found, f"no hairpin flag in:\n{shown.stdout}"
    return found[1]


@pytest.fixture
def hairpin_off(lab: LiveLab, shells: dict[str, Shell], probe: Probe, lone: tuple[Pod, str]) -> Iterator[None]:
    """Hairpin mode off on the lone pod's bridge port only; put back as it was after."""
    pod, ip = lone
    node = lab.on(pod.node)
    verify(reaches_all(probe.curl(hairpin_url(pod, ip), 2), [pod.name], "hairpin answers before the change"))
    port = bridge_port(node, pod.ip)  # the hairpin request above made the node resolve the pod
    flag = hairpin_flag(node, port)
    node.run(["bridge", "link", "set", "dev", port, "hairpin", "off"]).check(f"hairpin off on {port}")
    try:
        yield
    finally:
        node.run(["bridge", "link", "set", "dev", port, "hairpin", flag]).check(f"hairpin {flag} on {port}")
    verify(reaches_all(probe.curl(hairpin_url(pod, ip), 2), [pod.name], "hairpin answers again after the restore"))


@pytest.mark.changes_cluster("turns hairpin mode off on one pod's bridge port for the test")
def test_negative_control_hairpin_mode_off_breaks_the_way_back(
        jig: Jig, probe: Probe, lone: tuple[Pod, str], hairpin_off: None) -> None:
    pod, ip = lone
    # every request now waits out curl's 2 s limit: half the sample is enough to see it
    broken = refuted(reaches_all(probe.curl(hairpin_url(pod, ip), REQUESTS // 2), [pod.name]),
                     f"hairpin mode off on {pod.name}'s bridge port on {pod.node}")
    assert broken.data["counts"].get(pod.name, 0) == 0, broken.report()  # type: ignore[attr-defined]
