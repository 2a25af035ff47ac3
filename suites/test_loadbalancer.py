"""LoadBalancer (seed 001): MetalLB in layer 2 gives the Service the first pool address,
and that address reaches every pod from outside the cluster."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from svclab.expect import Verdict, answered, ipvs_virtual_server, reaches_all, refuted, settle, verify
from svclab.plugin.fixtures import SETTLE_REQUESTS, Client, Jig, LiveLab, Pod, curl_batch, metallb

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
