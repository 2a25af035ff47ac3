"""Session affinity: ClientIP keeps one client on one pod; None spreads.

Timeouts: IPVS does not honour affinity timeouts below about 120 s (kubernetes issue
89358), so these checks keep the default (10800 s), which holds in every mode."""

from __future__ import annotations

import json

import pytest

from svclab.expect import holds, one_pod, reaches_all, refuted, settle, verify
from svclab.plugin.fixtures import Jig, LiveLab, Pod, Probe

REQUESTS = 60


@pytest.fixture(scope="module")
def ips(jig: Jig, probe: Probe, myapp: list[Pod]) -> dict[str, str]:
    return {mode: jig.expose(f"myapp-affinity-{mode.lower()}", myapp, probe,
                             tweak=lambda s, m=mode: s["spec"].update(sessionAffinity=m))  # type: ignore[misc]
            for mode in ("ClientIP", "None")}


def test_clientip_keeps_one_client_on_one_pod(lab: LiveLab, jig: Jig, probe: Probe, myapp: list[Pod],
                                               ips: dict[str, str]) -> None:
    batch = probe.curl(f"http://{ips['ClientIP']}/hostname.html", REQUESTS)
    verify(one_pod(batch, [p.name for p in myapp]), jig.facts("myapp-affinity-clientip"))


def test_none_spreads_over_every_pod(lab: LiveLab, jig: Jig, probe: Probe, myapp: list[Pod],
                                     ips: dict[str, str]) -> None:
    batch = probe.curl(f"http://{ips['None']}/hostname.html", REQUESTS)
    verify(reaches_all(batch, [p.name for p in myapp]), jig.facts("myapp-affinity-none"))


def test_only_none_and_clientip_exist(jig: Jig, myapp: list[Pod]) -> None:
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bad-affinity"},
           "spec": {"selector": {"app": "myapp"}, "sessionAffinity": "Cookie", "ports": [{"port": 80}]}}
    result = jig.kubectl.run("create", "-n", jig.namespace, "-f", "-", stdin=json.dumps(bad))
    refused = not result.ok and "Unsupported value" in result.stderr
    verify(holds("the API server refuses sessionAffinity Cookie", refused,
                 "kubectl create fails with the API's 'Unsupported value' (supported: None, ClientIP)",
                 f"exit {result.rc}: {result.stderr.strip()[:200]}", result))


def test_negative_control_affinity_turned_off_on_the_same_service_spreads(
        jig: Jig, probe: Probe, myapp: list[Pod]) -> None:
    """ServiceTestJig's way: the one-pod check holds on a ClientIP Service, then fails on the
    same Service once its affinity is switched to None, and holds again once switched back."""
    pods = [p.name for p in myapp]
    ip = jig.expose("myapp-affinity-flip", myapp, probe, tweak=lambda s: s["spec"].update(sessionAffinity="ClientIP"))
    url = f"http://{ip}/hostname.html"
    verify(one_pod(probe.curl(url, REQUESTS), pods))
    jig.patch_service("myapp-affinity-flip", {"spec": {"sessionAffinity": "None", "sessionAffinityConfig": None}})
    window = jig.timings.absence_window(30)
    spread, seconds = settle(lambda: reaches_all(probe.curl(url, REQUESTS), pods), timeout=window)
    verify(spread.noted(f"spread after {seconds:.1f} s"))
    refuted(one_pod(probe.curl(url, REQUESTS), pods), "sessionAffinity switched to None on the same Service")
    jig.patch_service("myapp-affinity-flip", {"spec": {"sessionAffinity": "ClientIP"}})
    stuck, _ = settle(lambda: one_pod(probe.curl(url, REQUESTS), pods), timeout=window)
    verify(stuck)
