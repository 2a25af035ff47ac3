"""DNS (seed 000): Service names, headless A and SRV answers, ExternalName CNAMEs,
all answered by the lab's own CoreDNS, which forwards nothing off the machine."""

from __future__ import annotations

import pytest

from svclab.expect import dns_answer, verify
from svclab.fixtures import LiveLab
from svclab.jig import Jig, Pod, Probe
from svclab.parsers import DigResult, parse_dig
from svclab.providers.kind import LAB_ZONE, dns_server


def dig(probe: Probe, name: str, rtype: str = "A") -> tuple[DigResult, str]:
    result = probe.dig(name, rtype)
    assert result.ok, result.describe()
    return parse_dig(result.stdout), result.describe()


@pytest.fixture(scope="module")
def services(jig: Jig, myapp: list[Pod]) -> dict[str, str]:
    jig.create_service("myapp-clusterip")
    jig.create_service("myapp-headless", tweak=lambda s: s["spec"].update(clusterIP="None"))
    jig.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "myapp-externalname"},
               "spec": {"type": "ExternalName", "externalName": f"my.{LAB_ZONE}"}})
    jig.wait_endpoints("myapp-headless", [p.ip for p in myapp])
    return {"clusterip": jig.get("service", "myapp-clusterip")["spec"]["clusterIP"]}


def test_headless_service_has_no_clusterip(jig: Jig, services: dict[str, str]) -> None:
    assert jig.get("service", "myapp-headless")["spec"]["clusterIP"] == "None"


def test_headless_a_answer_is_exactly_the_ready_pod_ips(
        lab: LiveLab, jig: Jig, probe: Probe, myapp: list[Pod], services: dict[str, str]) -> None:
    name = f"myapp-headless.{jig.namespace}.svc.cluster.local"
    result = probe.dig(name)
    verify(dns_answer(result, name, {p.ip for p in myapp}))
    assert parse_dig(result.stdout).server == dns_server(lab.spec), result.describe()


def test_headless_srv_answers_name_the_http_port(jig: Jig, probe: Probe, myapp: list[Pod],
                                                 services: dict[str, str]) -> None:
    answer, raw = dig(probe, f"_http._tcp.myapp-headless.{jig.namespace}.svc.cluster.local", "SRV")
    srv = [r for r in answer.answers if r.rtype == "SRV"]
    assert len(srv) == len(myapp), raw
    assert {r.data.split()[2] for r in srv} == {"80"}, raw


def test_clusterip_name_resolves_by_full_and_short_name(jig: Jig, probe: Probe,
                                                         services: dict[str, str]) -> None:
    name = f"myapp-clusterip.{jig.namespace}.svc.cluster.local"
    verify(dns_answer(probe.dig(name), name, {services["clusterip"]}))
    short = probe.run(["getent", "hosts", "myapp-clusterip"])  # through the pod's search path
    assert short.ok and short.stdout.split()[0] == services["clusterip"], short.describe()


def test_externalname_answers_a_cname_to_its_target(lab: LiveLab, jig: Jig, probe: Probe,
                                                     services: dict[str, str]) -> None:
    name = f"myapp-externalname.{jig.namespace}.svc.cluster.local"
    result = probe.dig(name)
    verify(dns_answer(result, name, {f"my.{LAB_ZONE}."}, "CNAME"))
    # the target is answered by the lab's own zone: nothing asked outside the machine
    verify(dns_answer(result, f"my.{LAB_ZONE}", {lab.spec.external_ips[0]}))


def test_names_outside_the_lab_get_no_answer(probe: Probe) -> None:
    answer, raw = dig(probe, "example.org")
    assert answer.status in ("SERVFAIL", "REFUSED") and not answer.answers, raw


def test_negative_control_wrong_namespace_is_nxdomain(probe: Probe, services: dict[str, str]) -> None:
    answer, raw = dig(probe, "myapp-headless.no-such-namespace.svc.cluster.local")
    assert answer.status == "NXDOMAIN" and not answer.addresses(), raw
