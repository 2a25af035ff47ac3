"""LoadBalancer (seed 001): MetalLB in layer 2 gives the Service the first pool address,
and that address reaches every pod from outside the cluster; with externalTrafficPolicy Local
the pods see the outside client's own address."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from svclab.expect import (
    Verdict,
    answered,
    holds,
    ipvs_virtual_server,
    reaches_all,
    refuted,
    settle,
    source_seen,
    verify,
)
from svclab.plugin.fixtures import SETTLE_REQUESTS, Client, Jig, LiveLab, Pod, curl_batch, metallb, own_address

REQUESTS = 90


def assigned(jig: Jig, name: str) -> Callable[[], Verdict]:
    """A verdict on the Service's status: an ingress address from the lab's pool."""
    def observe() -> Verdict:
        ingress = jig.get("service", name)["status"].get("loadBalancer", {}).get("ingress") or []
        ips = [i.get("ip") for i in ingress]
        return Verdict(f"{name} gets a LoadBalancer address", bool(ips), "an address in status.loadBalancer",
                       str(ips or "none (pending)"), data={"ingress": ips})
    return observe


pytestmark = pytest.mark.changes_cluster("installs MetalLB (cluster-wide) and an address pool")


@pytest.fixture(scope="module")
def lb(lab: LiveLab, jig: Jig, myapp: list[Pod]) -> Iterator[tuple[str, float]]:
    """The address MetalLB assigned, and the seconds the assignment took. Afterwards the
    cluster is put back as it was: the pool deleted, and MetalLB too if it was not there."""
    # a lab that mixes proxy modes announces the address only from its data-plane nodes
    installed = metallb.install(lab.kubectl, lab.spec,
                                [n.name for n in lab.dataplane] if lab.proxy.support else None)
    try:
        yield _assigned_address(jig, myapp)
    finally:  # also when the assignment itself failed
        metallb.remove(lab.kubectl, lab.spec, installed)


def _assigned_address(jig: Jig, myapp: list[Pod]) -> tuple[str, float]:
    jig.create_service("myapp-lb", type_="LoadBalancer")
    jig.wait_endpoints("myapp-lb", [p.ip for p in myapp], facts=jig.facts("myapp-lb"))
    verdict, seconds = settle(assigned(jig, "myapp-lb"), timeout=90, interval=1)
    verify(verdict, jig.facts("myapp-lb"))
    return str(verdict.data["ingress"][0]), seconds  # type: ignore[index]


def test_first_pool_address_is_assigned(lab: LiveLab, lb: tuple[str, float]) -> None:
    first = lab.spec.lb_addresses()[0]
    verify(Verdict("MetalLB assigns the pool's first address", lb[0] == first, first, lb[0]))


def test_lb_address_reaches_every_pod_from_outside(jig: Jig, outside: Client, myapp: list[Pod],
                                                   lb: tuple[str, float]) -> None:
    url = f"http://{lb[0]}/hostname.html"
    verdict, _ = settle(lambda: answered(curl_batch(outside, url, SETTLE_REQUESTS)), timeout=90)
    verify(verdict.noted("the address is reached through a speaker's ARP answer"), jig.facts("myapp-lb"))
    verify(reaches_all(curl_batch(outside, url, REQUESTS), [p.name for p in myapp]), jig.facts("myapp-lb"))


@pytest.mark.requires_proxy_mode("ipvs", reason="IPVS lists a virtual server for the LoadBalancer IP")
@pytest.mark.usefixtures("shells")
def test_ipvs_has_a_virtual_server_for_the_lb_address(lab: LiveLab, lb: tuple[str, float]) -> None:
    verify(ipvs_virtual_server(lab.on_dataplane(["ipvsadm", "-Ln"]), lb[0], 80, lab.spec.ipvs_scheduler))


def test_negative_control_a_class_nobody_serves_gets_no_address(jig: Jig, lb: tuple[str, float]) -> None:
    """MetalLB only serves Services of its own (default) class: the same assignment check, on a
    Service of another class, fails within three times the time myapp-lb's address took."""
    jig.create_service("myapp-lb-unserved", type_="LoadBalancer",
                       tweak=lambda s: s["spec"].update(loadBalancerClass="svclab.invalid/nobody"))
    window = max(10.0, 3 * lb[1])
    verdict, _ = settle(assigned(jig, "myapp-lb-unserved"), timeout=window, interval=1)
    refuted(verdict, f"a loadBalancerClass MetalLB does not serve (watched {window:.0f} s)")


@pytest.mark.usefixtures("shells")
def test_local_policy_keeps_the_clients_address_through_the_lb_address(
        lab: LiveLab, jig: Jig, outside: Client, myapp: list[Pod], lb: tuple[str, float]) -> None:
    """externalTrafficPolicy Local: MetalLB announces the address from a node with a local
    endpoint, that node keeps the request there, and the pod sees the outside client itself."""
    announcers = {n.name for n in lab.dataplane} if lab.proxy.support else {n.name for n in lab.nodes}
    verify(holds("a myapp pod runs on a node that may announce the address", any(p.node in announcers for p in myapp),
                 f"a pod on one of {sorted(announcers)}", str({p.name: p.node for p in myapp})))
    marks = lab.clocks()
    jig.patch_service("myapp-lb", {"spec": {"externalTrafficPolicy": "Local"}})
    verify(settle(lambda: lab.synced_since(marks), timeout=60)[0])
    url = f"http://{lb[0]}/clientip"
    verify(settle(lambda: source_seen(curl_batch(outside, url, SETTLE_REQUESTS), [own_address(outside)]),
                  timeout=90)[0].noted("externalTrafficPolicy Local"), jig.facts("myapp-lb"))
    verify(source_seen(curl_batch(outside, url, 30), [own_address(outside)]), jig.facts("myapp-lb"))


@pytest.mark.usefixtures("shells")
def test_negative_control_cluster_policy_hides_the_client_behind_the_lb_address(
        lab: LiveLab, jig: Jig, outside: Client, myapp: list[Pod], lb: tuple[str, float]) -> None:
    """The policy is the real cause: with Cluster on the same Service, requests that the
    announcing node sends to a pod on another node arrive from a node's address: the same check
    fails. (Three pods, 30 requests: all on the announcing node's own pods has p <= (2/3)^30.)"""
    marks = lab.clocks()
    jig.patch_service("myapp-lb", {"spec": {"externalTrafficPolicy": "Cluster"}})
    verify(settle(lambda: lab.synced_since(marks), timeout=60)[0])
    client = own_address(outside)
    hidden = refuted(source_seen(curl_batch(outside, f"http://{lb[0]}/clientip", 30), [client]),
                     "externalTrafficPolicy: Cluster on the same Service")
    assert set(hidden.data["sources"]) - {client}, hidden.report()  # type: ignore[call-overload]
