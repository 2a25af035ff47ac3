"""No endpoints: a Service whose selector matches no pod refuses a connection at once, on its
ClusterIP and on every node's node port, rather than dropping it until the client gives up.

Measured here in all three modes: of sequential connections the first six are refused at once
and the rest one a second, each on its SYN's first retransmission. That is the kernel's ICMP rate
limit (net.ipv4.icmp_ratelimit, 1 s per client after a burst of 6), so the refusal is an ICMP
port unreachable from kube-proxy's reject rule in each mode, not a TCP reset. The Service is first
created with myapp behind it and answering, so that every address is programmed (and the lab's)
before a request is sent to it with nobody behind it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from svclab.expect import Verdict, answered, refuted, rejected, settle, verify_all
from svclab.plugin.fixtures import MYAPP_SELECTOR, Jig, LiveLab, Pod, Probe

REQUESTS = 12  # past the burst of 6, so the rate-limited refusals are in every sample
# s: a drop ends only at curl's 2 s --max-time (exit 28). A refusal by ICMP comes at once, or, when
# the kernel's ICMP rate limit (net.ipv4.icmp_ratelimit, 1 s per client after a burst) held the
# reply back, on the SYN's first retransmission, 1 s later: both are within 1.5 s.
WITHIN = 1.5
NOBODY = {"app": "nobody"}


def urls(lab: LiveLab, svc: dict[str, object]) -> dict[str, str]:
    """Every address of the Service: its ClusterIP and its node port on each node."""
    spec: dict[str, object] = svc["spec"]  # type: ignore[assignment]
    port = spec["ports"][0]["nodePort"]  # type: ignore[index]
    found = {"ClusterIP": f"http://{spec['clusterIP']}/hostname.html"}
    found |= {f"node port on {n.name} ({lab.mode_on(n.name)})": f"http://{n.address}:{port}/hostname.html"
              for n in lab.nodes}
    return found


@pytest.fixture(scope="module")
def addresses(lab: LiveLab, jig: Jig, probe: Probe, myapp: list[Pod]) -> dict[str, str]:
    """A NodePort Service for myapp, answering on every address (programmed everywhere)."""
    jig.expose("myapp-empty", myapp, probe, type_="NodePort")
    found = urls(lab, jig.get("service", "myapp-empty"))
    verdicts = [settle(lambda u=u: answered(probe.curl(u, 6)), timeout=60)[0].noted(where)  # type: ignore[misc]
                for where, u in found.items()]
    verify_all(verdicts, jig.facts("myapp-empty"))
    return found


@pytest.fixture
def nobody(jig: Jig, myapp: list[Pod], addresses: dict[str, str]) -> Iterator[None]:
    """The Service's selector matches no pod while the test runs; myapp is put back after."""
    jig.patch_service("myapp-empty", {"spec": {"selector": NOBODY}})
    jig.wait_endpoints("myapp-empty", [], facts=jig.facts("myapp-empty"))
    try:
        yield
    finally:
        jig.patch_service("myapp-empty", {"spec": {"selector": MYAPP_SELECTOR}})
        jig.wait_endpoints("myapp-empty", [p.ip for p in myapp], facts=jig.facts("myapp-empty"))


def refusals(probe: Probe, addresses: dict[str, str]) -> list[Verdict]:
    """Each address, once kube-proxy has caught up: every request refused within WITHIN."""
    return [settle(lambda u=u: rejected(probe.curl(u, REQUESTS), WITHIN), timeout=60)[0].noted(where)  # type: ignore[misc]
            for where, u in addresses.items()]


@pytest.mark.usefixtures("nobody")
def test_no_endpoints_refuses_at_once_on_every_address(jig: Jig, probe: Probe, addresses: dict[str, str]) -> None:
    verify_all(refusals(probe, addresses), jig.facts("myapp-empty"))


def test_negative_control_refusal_check_fails_while_endpoints_exist(
        jig: Jig, probe: Probe, myapp: list[Pod], addresses: dict[str, str]) -> None:
    """The empty endpoint set is the real cause: with myapp's pods behind the same Service, the
    same check fails on every address, because every request is answered."""
    jig.wait_endpoints("myapp-empty", [p.ip for p in myapp])
    for url in addresses.values():  # the data plane has caught up (in the IPVS VM it takes seconds)
        probe.wait_answers(url)
    for where, url in addresses.items():
        broken = refuted(rejected(probe.curl(url, REQUESTS), WITHIN), "myapp's three ready pods behind the Service")
        assert broken.data["kinds"] == {"HTTP 200": REQUESTS}, f"{where}: {broken.report()}"
