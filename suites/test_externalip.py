"""externalIPs (seed 000): an address of the lab's own network, routed by the lab to a
node (Kubernetes does not route it), reaches every pod from outside the cluster."""

from __future__ import annotations

from typing import Any

import pytest

from svclab.expect import ipvs_virtual_server, reaches_all, verify
from svclab.facts import service_facts
from svclab.fixtures import LiveLab
from svclab.jig import Jig, Pod
from svclab.probes import curl_batch, wait_settled

REQUESTS = 90


@pytest.fixture(scope="module")
def external_ip(lab: LiveLab, jig: Jig, myapp: list[Pod], outside: Any) -> str:
    address = lab.spec.external_ips[0]
    jig.create_service("myapp-externalip", tweak=lambda s: s["spec"].update(externalIPs=[address]))
    jig.wait_endpoints("myapp-externalip", [p.ip for p in myapp])
    worker = next(n for n in lab.dataplane if n.role == "worker")
    route = outside.run(["ip", "route", "replace", f"{address}/32", "via", worker.address])
    assert route.ok, route.describe()
    return address


def test_external_ip_column_shows_the_address(jig: Jig, external_ip: str) -> None:
    assert jig.get("service", "myapp-externalip")["spec"]["externalIPs"] == [external_ip]


def test_external_ip_reaches_every_pod_from_outside(lab: LiveLab, jig: Jig, outside: Any,
                                                    myapp: list[Pod], external_ip: str) -> None:
    url = f"http://{external_ip}/hostname.html"
    wait_settled(outside.run, url, what=f"{url} answers", timeout=60)
    verify(reaches_all(curl_batch(outside.run, url, REQUESTS), [p.name for p in myapp]),
           service_facts(lab, jig, "myapp-externalip"))


@pytest.mark.requires_proxy_mode("ipvs", reason="IPVS lists a virtual server for the external IP")
def test_ipvs_has_a_virtual_server_for_the_external_ip(lab: LiveLab, external_ip: str) -> None:
    verify(ipvs_virtual_server(lab.on_dataplane(["ipvsadm", "-Ln"]), external_ip, 80, lab.spec.ipvs_scheduler))


def test_negative_control_an_address_the_lab_does_not_route_is_unreachable(
        lab: LiveLab, outside: Any, myapp: list[Pod], external_ip: str) -> None:
    unrouted = lab.spec.lb_addresses()[-1]  # in the lab network, but no Service and no route
    batch = curl_batch(outside.run, f"http://{unrouted}/hostname.html", 2)
    with pytest.raises(AssertionError) as failure:
        verify(reaches_all(batch, [p.name for p in myapp]))
    assert "failures: 2" in str(failure.value)
