"""Session affinity: ClientIP keeps one client on one pod; None spreads.

Timeouts: iptables and nftables forget a client TIMEOUT s after its last new connection, so
requests further apart than that land anywhere. IPVS keeps its persistence template alive as long
as connection entries refer to it, and a closed connection's entry lives on for about 120 s in
TIME_WAIT (kubernetes issue 89358): under that floor a short timeout is not honoured and the
client stays on its pod. The other checks keep the default (10800 s), which holds in every mode."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from svclab.expect import Verdict, holds, one_pod, reaches_all, refuted, settle, several_pods, verify
from svclab.plugin.fixtures import Jig, LiveLab, Pod, Probe, curl_batch

REQUESTS = 60
TIMEOUT = 5  # s: sessionAffinityConfig.clientIP.timeoutSeconds of the short-timeout Service
PACED = 8  # requests ...
PER_MINUTE = 7  # ... started 8.6 s apart, each after the timeout ran out: about 60 s in all


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


def short_timeout(s: dict[str, object]) -> None:
    s["spec"].update(sessionAffinity="ClientIP",  # type: ignore[attr-defined]
                     sessionAffinityConfig={"clientIP": {"timeoutSeconds": TIMEOUT}})


def after_timeout(lab: LiveLab, probe: Probe, url: str, pods: list[str]) -> Verdict:
    """Requests spaced wider than the timeout: each lands anywhere, except under IPVS's floor."""
    batch = curl_batch(probe, url, PACED, per_minute=PER_MINUTE)
    if lab.mode == "ipvs":
        verdict = one_pod(batch, pods, f"IPVS keeps the client on one pod {60 / PER_MINUTE:.1f} s apart "
                                       f"(timeout {TIMEOUT} s, under the ~120 s floor)")
        return replace(verdict, data={**verdict.data, "finding": "stays past the timeout"})
    verdict = several_pods(batch, pods, f"{lab.mode} forgets the client after its {TIMEOUT} s timeout")
    # the finding names the behaviour, so the matrix and the migration report list the modes'
    # difference although the check passes in each
    return replace(verdict, data={**verdict.data, "finding": "moves after the timeout"})


def test_affinity_with_a_short_timeout(lab: LiveLab, jig: Jig, probe: Probe, myapp: list[Pod]) -> None:
    """Within the timeout one client stays on one pod in every mode; requests spaced wider than
    it: per mode, as the module says."""
    pods = [p.name for p in myapp]
    ip = jig.expose("myapp-affinity-short", myapp, probe, tweak=short_timeout)
    url = f"http://{ip}/hostname.html"
    verify(one_pod(probe.curl(url, REQUESTS), pods).noted("requests back to back, within the timeout"),
           jig.facts("myapp-affinity-short"))
    if lab.mode == "ipvs" and lab.node_shells():  # the timeout is set: IPVS shows it, and does not honour it
        shown = lab.on_dataplane(["ipvsadm", "-Ln", "-t", f"{ip}:80"])
        verify(holds(f"IPVS persistence on {ip}:80 is {TIMEOUT} s", all(
            f"persistent {TIMEOUT}" in r.stdout for r in shown.values()), f"persistent {TIMEOUT} on every IPVS node",
            "; ".join(next((line for line in r.stdout.splitlines() if line.startswith("TCP")), "no virtual server")
                      for r in shown.values()), *shown.values()))
    verify(after_timeout(lab, probe, url, pods), jig.facts("myapp-affinity-short"))


@pytest.mark.usefixtures("shells")
def test_negative_control_what_makes_the_spaced_requests_behave_so(
        lab: LiveLab, jig: Jig, probe: Probe, myapp: list[Pod]) -> None:
    """The same spaced check on the same Service fails once its cause is gone: iptables and
    nftables, the timeout back at 10800 s (the client now stays); IPVS, affinity off (the
    client now moves: it stayed because of the persistence template)."""
    pods = [p.name for p in myapp]
    ip = jig.expose("myapp-affinity-short-ctl", myapp, probe, tweak=short_timeout)
    url = f"http://{ip}/hostname.html"
    change: dict[str, object] = {"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}}}
    cause = "the timeout back at 10800 s"
    if lab.mode == "ipvs":
        change, cause = {"sessionAffinity": "None", "sessionAffinityConfig": None}, "sessionAffinity None"
    marks = lab.clocks()
    jig.patch_service("myapp-affinity-short-ctl", {"spec": change})
    verify(settle(lambda: lab.synced_since(marks), timeout=60)[0], jig.facts("myapp-affinity-short-ctl"))
    refuted(after_timeout(lab, probe, url, pods), cause)
