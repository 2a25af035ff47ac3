"""DNS (seed 000): Service names, headless A and SRV answers, ExternalName CNAMEs,
all answered by the lab's own CoreDNS, which forwards nothing off the machine."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from svclab.expect import Verdict, dns_answer, dns_status, holds, refuted, settle, verify
from svclab.expect.dns import read_dig
from svclab.plugin.fixtures import LAB_ZONE, Jig, LiveLab, Pod, Probe


@pytest.fixture(scope="module")
def services(jig: Jig, myapp: list[Pod]) -> dict[str, str]:
    jig.create_service("myapp-clusterip")
    jig.create_service("myapp-headless", tweak=lambda s: s["spec"].update(clusterIP="None"))
    jig.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "myapp-externalname"},
               "spec": {"type": "ExternalName", "externalName": f"my.{LAB_ZONE}"}})
    jig.wait_endpoints("myapp-headless", [p.ip for p in myapp], facts=jig.facts("myapp-headless"))
    return {"clusterip": jig.get("service", "myapp-clusterip")["spec"]["clusterIP"]}


LAB_DNS_TTL = 30  # s: `ttl 30` and `cache 30` in the lab's Corefile (lab/addons/addons.yaml.j2)


def fqdn(jig: Jig, name: str) -> str:
    return f"{name}.{jig.namespace}.svc.cluster.local"


def test_headless_a_answer_is_exactly_the_ready_pod_ips(lab: LiveLab, jig: Jig, probe: Probe, myapp: list[Pod],
                                                        services: dict[str, str]) -> None:
    name = fqdn(jig, "myapp-headless")
    verify(dns_answer(probe.dig(name), name, {p.ip for p in myapp}, server=lab.cluster_dns()))


def test_headless_srv_answers_name_the_http_port(jig: Jig, probe: Probe, myapp: list[Pod],
                                                 services: dict[str, str]) -> None:
    name = f"_http._tcp.{fqdn(jig, 'myapp-headless')}"
    result = probe.dig(name, "SRV")
    dig, why = read_dig(result)
    srv = [r.data.split() for r in dig.answers if r.rtype == "SRV"] if dig else []
    verify(holds(f"DNS SRV {name}", len(srv) == len(myapp) and {f[2] for f in srv} == {"80"},
                 f"{len(myapp)} SRV records, each for port 80", why or str([" ".join(f) for f in srv]), result))


def test_clusterip_name_resolves_by_full_and_short_name(jig: Jig, probe: Probe, services: dict[str, str]) -> None:
    name = fqdn(jig, "myapp-clusterip")
    verify(dns_answer(probe.dig(name), name, {services["clusterip"]}))
    short = probe.run(["getent", "hosts", "myapp-clusterip"])  # through the pod's search path
    got = short.stdout.split()[:1]
    verify(holds("the short name resolves through the search path", short.ok and got == [services["clusterip"]],
                 services["clusterip"], str(got), short))


def test_externalname_answers_a_cname_to_its_target(lab: LiveLab, jig: Jig, probe: Probe, lab_zone: str,
                                                     services: dict[str, str]) -> None:
    name = fqdn(jig, "myapp-externalname")
    result = probe.dig(name)
    verify(dns_answer(result, name, {f"my.{lab_zone}."}, "CNAME"))
    # the target is answered by the lab's own zone: nothing asked outside the machine
    verify(dns_answer(result, f"my.{lab_zone}", {lab.spec.external_ips[0]}))


@pytest.mark.usefixtures("closed_dns")
def test_names_outside_the_lab_get_no_answer(probe: Probe) -> None:
    verify(dns_status(probe.dig("example.org"), "example.org", {"SERVFAIL", "REFUSED"}))


def test_an_unknown_namespace_is_nxdomain(probe: Probe, services: dict[str, str]) -> None:
    name = "myapp-headless.no-such-namespace.svc.cluster.local"
    verify(dns_status(probe.dig(name), name, {"NXDOMAIN"}))


def test_negative_control_a_deleted_service_leaves_dns(jig: Jig, probe: Probe, myapp: list[Pod]) -> None:
    """The Service is the real cause of its name: the same answer check holds, then fails once
    the Service is deleted. Each CoreDNS replica may serve the answer from its cache for the
    TTL it carried, so the name counts as gone only once that TTL has run out since the delete."""
    jig.create_service("myapp-dns-leaving")
    jig.wait_endpoints("myapp-dns-leaving", [p.ip for p in myapp])
    name = fqdn(jig, "myapp-dns-leaving")
    ip = jig.get("service", "myapp-dns-leaving")["spec"]["clusterIP"]
    answer = verify(dns_answer(probe.dig(name), name, {ip}))
    # the longest any replica may still serve it: a fresh answer's TTL (the lab's Corefile: ttl 30,
    # cache 30), or more if this answer says so
    seen = max(int(str(a).split()[1]) for a in answer.data["answers"])  # type: ignore[attr-defined]
    ttl = max(seen, LAB_DNS_TTL)
    jig.run("delete", "service", "myapp-dns-leaving").check("kubectl delete service")
    deleted = time.monotonic()

    def gone() -> Verdict:
        found = dns_status(probe.dig(name), name, {"NXDOMAIN"})
        waited = time.monotonic() - deleted
        return replace(found, ok=found.ok and waited > ttl,
                       expected=f"{found.expected}, {ttl} s (the answer's TTL) after the delete",
                       observed=f"{found.observed}, {waited:.0f} s after the delete")

    verdict, _ = settle(gone, timeout=ttl + max(30.0, 3 * jig.timings["endpoints"]))
    verify(verdict)
    refuted(dns_answer(probe.dig(name), name, {ip}), "the Service deleted")
