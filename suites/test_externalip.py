"""externalIPs (seed 000): an address of the lab's own network, routed by the lab to a
node (Kubernetes does not route it), reaches every pod from outside the cluster."""

from __future__ import annotations

import pytest

from svclab.expect import (
    deprecation_warning,
    entries_present,
    ipvs_virtual_server,
    reaches_all,
    refuted,
    settle,
    verify,
    verify_all,
)
from svclab.expect.traffic import answered, unanswered
from svclab.plugin.fixtures import SETTLE_REQUESTS, Client, Jig, LiveLab, Pod, Shell, curl_batch, service_entries

REQUESTS = 90
DEPRECATED = "spec.externalIPs is deprecated"  # the API server's warning from 1.36 (KEP-5707)


def route_to_a_node(lab: LiveLab, outside: Client, address: str) -> str:
    """The lab administrator's part (seed 000): route the address to a data-plane node."""
    worker = next(n for n in lab.dataplane if n.role == "worker")
    outside.run(["ip", "route", "replace", f"{address}/32", "via", worker.address]).check("ip route replace")
    return worker.name


def exposed(lab: LiveLab, jig: Jig, outside: Client, myapp: list[Pod], name: str) -> tuple[str, float]:
    """A Service with the lab's external IP, answering from outside; the address and the seconds it took."""
    address = lab.spec.external_ips[0]
    jig.create_service(name, tweak=lambda s: s["spec"].update(externalIPs=[address]))
    jig.wait_endpoints(name, [p.ip for p in myapp], facts=jig.facts(name))
    route_to_a_node(lab, outside, address)
    url = f"http://{address}/hostname.html"
    verdict, seconds = settle(lambda: answered(curl_batch(outside, url, SETTLE_REQUESTS)), timeout=60)
    verify(verdict, jig.facts(name))
    jig.timings["answers"] = seconds  # the control's absence window is measured from this
    return address, seconds


@pytest.fixture(scope="module")
def external_ip(lab: LiveLab, jig: Jig, myapp: list[Pod], outside: Client) -> str:
    return exposed(lab, jig, outside, myapp, "myapp-externalip")[0]


def test_external_ip_reaches_every_pod_from_outside(jig: Jig, outside: Client, myapp: list[Pod],
                                                    external_ip: str) -> None:
    verify(reaches_all(curl_batch(outside, f"http://{external_ip}/hostname.html", REQUESTS),
                       [p.name for p in myapp]), jig.facts("myapp-externalip"))


def test_data_plane_holds_the_external_ip(lab: LiveLab, shells: dict[str, Shell], external_ip: str) -> None:
    verify_all([entries_present(service_entries(shells[n.name], n.name, lab.mode_on(n.name), external_ip, 80))
                for n in lab.dataplane])


@pytest.mark.requires_proxy_mode("ipvs", reason="IPVS lists a virtual server for the external IP")
@pytest.mark.usefixtures("shells")
def test_ipvs_has_a_virtual_server_for_the_external_ip(lab: LiveLab, external_ip: str) -> None:
    verify(ipvs_virtual_server(lab.on_dataplane(["ipvsadm", "-Ln"]), external_ip, 80, lab.spec.ipvs_scheduler))


def test_the_api_server_warns_that_external_ips_are_deprecated_from_1_36(lab: LiveLab, jig: Jig,
                                                                          external_ip: str) -> None:
    """KEP-5707: from 1.36 the API server answers a write of a Service with externalIPs with a
    deprecation warning (the Service still works, as the checks above show); before 1.36 it says
    nothing. Which applies is decided from the server's version in force."""
    verify(deprecation_warning(jig.applied["Service/myapp-externalip"], DEPRECATED, lab.server_minor, since=36,
                               what="Service.spec.externalIPs"))


def test_negative_control_a_service_without_external_ips_draws_no_warning(lab: LiveLab, jig: Jig,
                                                                          external_ip: str) -> None:
    """The warning's cause is the field: the same Service written without externalIPs draws none,
    and the same check fails on it."""
    if lab.server_minor < 36:
        pytest.skip(f"Kubernetes 1.{lab.server_minor} gives no externalIPs warning to take away (it warns from 1.36)")
    jig.create_service("myapp-no-externalip")
    refuted(deprecation_warning(jig.applied["Service/myapp-no-externalip"], DEPRECATED, lab.server_minor, since=36,
                                what="Service.spec.externalIPs"), "the same Service written without externalIPs")


def test_negative_control_the_route_stays_but_the_external_ip_is_removed(
        lab: LiveLab, jig: Jig, outside: Client, myapp: list[Pod], external_ip: str) -> None:
    """The route to the node is what the lab adds; the Service's externalIPs is what makes the
    node answer. Keep the route, remove externalIPs: the same check fails, then holds again."""
    url, pods = f"http://{external_ip}/hostname.html", [p.name for p in myapp]
    jig.patch_service("myapp-externalip", {"spec": {"externalIPs": None}})
    window = max(10.0, 3 * jig.timings["answers"])
    silent, _ = settle(lambda: unanswered(curl_batch(outside, url, SETTLE_REQUESTS)), timeout=window)
    verify(silent.noted(f"window {window:.0f} s, 3x the time the address took to answer"))
    refuted(reaches_all(curl_batch(outside, url, 12), pods), "externalIPs removed from the Service (route kept)")
    jig.patch_service("myapp-externalip", {"spec": {"externalIPs": [external_ip]}})
    back, _ = settle(lambda: reaches_all(curl_batch(outside, url, 30), pods), timeout=60)
    verify(back)

