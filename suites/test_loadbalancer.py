"""LoadBalancer (seed 001): MetalLB in layer 2 gives the Service the first pool address,
and that address reaches every pod from outside the cluster."""

from __future__ import annotations

from typing import Any

import pytest

from svclab import metallb
from svclab.expect import ipvs_virtual_server, reaches_all, verify
from svclab.facts import service_facts
from svclab.fixtures import LiveLab
from svclab.jig import Jig, Pod
from svclab.probes import curl_batch, wait_settled
from svclab.wait import wait_for

REQUESTS = 90


@pytest.fixture(scope="module")
def lb_ip(lab: LiveLab, jig: Jig, myapp: list[Pod]) -> str:
    # a lab that mixes proxy modes announces the address only from its data-plane nodes
    metallb.install(lab.kubectl, lab.spec, [n.name for n in lab.dataplane] if lab.proxy.support else None)
    jig.create_service("myapp-lb", type_="LoadBalancer")
    jig.wait_endpoints("myapp-lb", [p.ip for p in myapp])

    def assigned() -> str | None:
        ingress = jig.get("service", "myapp-lb")["status"].get("loadBalancer", {}).get("ingress") or []
        return ingress[0].get("ip") if ingress else None

    return wait_for(assigned, what="MetalLB assigns an address to myapp-lb", timeout=90, interval=1,
                    describe=service_facts(lab, jig, "myapp-lb"))


def test_first_pool_address_is_assigned(lab: LiveLab, lb_ip: str) -> None:
    assert lb_ip == lab.spec.lb_addresses()[0], f"expected {lab.spec.lb_addresses()[0]}, got {lb_ip}"


def test_lb_address_reaches_every_pod_from_outside(lab: LiveLab, jig: Jig, outside: Any, myapp: list[Pod],
                                                   lb_ip: str) -> None:
    url = f"http://{lb_ip}/hostname.html"
    wait_settled(outside.run, url, what=f"{url} answers (ARP from a speaker)", timeout=90)
    verify(reaches_all(curl_batch(outside.run, url, REQUESTS), [p.name for p in myapp]),
           service_facts(lab, jig, "myapp-lb"))


@pytest.mark.requires_proxy_mode("ipvs", reason="IPVS lists a virtual server for the LoadBalancer IP")
def test_ipvs_has_a_virtual_server_for_the_lb_address(lab: LiveLab, lb_ip: str) -> None:
    verify(ipvs_virtual_server(lab.on_dataplane(["ipvsadm", "-Ln"]), lb_ip, 80, lab.spec.ipvs_scheduler))


def test_negative_control_a_class_nobody_serves_gets_no_address(jig: Jig, lb_ip: str) -> None:
    """A LoadBalancer Service of a class MetalLB does not handle stays pending: the wait fails."""
    from svclab.errors import WaitTimeout

    jig.create_service("myapp-lb-unserved", type_="LoadBalancer",
                       tweak=lambda s: s["spec"].update(loadBalancerClass="svclab.invalid/nobody"))

    def assigned() -> str | None:
        ingress = jig.get("service", "myapp-lb-unserved")["status"].get("loadBalancer", {}).get("ingress")
        return str(ingress[0].get("ip")) if ingress else None

    with pytest.raises(WaitTimeout) as failure:
        wait_for(assigned, what="an address for myapp-lb-unserved", timeout=10, interval=1)
    assert "myapp-lb-unserved" in str(failure.value)
