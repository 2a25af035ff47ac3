"""Endpoints follow the pods: scaling and deleting a pod change the Endpoints and the data
plane within a measured time. Each test sets the replica count it starts from, so any one
of them runs alone (`-k`)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from svclab.expect import Verdict, holds, refuted, settle, verify
from svclab.plugin.fixtures import MYAPP_SELECTOR, Jig, Pod, Probe

FOLLOW_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def clusterip(jig: Jig, probe: Probe, myapp: list[Pod]) -> str:
    return jig.expose("myapp-follow", myapp, probe)


def scaled(jig: Jig, replicas: int) -> list[Pod]:
    jig.run("scale", "deployment/myapp-deploy", f"--replicas={replicas}").check("kubectl scale")
    return jig.wait_ready_pods(MYAPP_SELECTOR, replicas, timeout=FOLLOW_TIMEOUT)


@pytest.mark.parametrize("start, replicas", [(3, 5), (3, 2)])
def test_scaling_changes_endpoints_and_data_plane(jig: Jig, probe: Probe, clusterip: str, start: int, replicas: int,
                                                  record_property: Callable[[str, object], None]) -> None:
    scaled(jig, start)
    pods = scaled(jig, replicas)
    jig.wait_endpoints("myapp-follow", [p.ip for p in pods], timeout=FOLLOW_TIMEOUT, facts=jig.facts("myapp-follow"))
    seconds = probe.wait_only(f"http://{clusterip}/hostname.html", [p.name for p in pods], timeout=FOLLOW_TIMEOUT,
                              facts=jig.facts("myapp-follow"))
    record_property(f"follow_seconds_{start}_to_{replicas}", round(jig.timings["endpoints"] + seconds, 2))


def test_deleting_a_pod_replaces_its_endpoint(jig: Jig, probe: Probe, clusterip: str) -> None:
    before = scaled(jig, 3)
    jig.run("delete", "pod", before[0].name, "--wait=false").check("kubectl delete pod")
    after = jig.wait_ready_pods(MYAPP_SELECTOR, 3, timeout=FOLLOW_TIMEOUT)
    verify(holds("the deleted pod is replaced", before[0].name not in {p.name for p in after},
                 f"3 ready pods, {before[0].name} not among them", str([p.name for p in after])))
    jig.wait_endpoints("myapp-follow", [p.ip for p in after], timeout=FOLLOW_TIMEOUT, facts=jig.facts("myapp-follow"))
    probe.wait_only(f"http://{clusterip}/hostname.html", [p.name for p in after], timeout=FOLLOW_TIMEOUT,
                    facts=jig.facts("myapp-follow"))


def test_negative_control_a_selector_matching_nothing_never_gets_endpoints(jig: Jig, probe: Probe,
                                                                           myapp: list[Pod]) -> None:
    """The same endpoint check that follows myapp, on a Service whose selector matches nothing,
    fails over three times the time myapp's endpoints took to appear."""
    jig.expose("myapp-follow-control", jig.pods(MYAPP_SELECTOR), probe)  # measures how long endpoints take
    window = max(10.0, 3 * jig.timings["endpoints"])
    jig.create_service("myapp-follow-nothing", tweak=lambda s: s["spec"].update(selector={"app": "nothing"}))
    want = sorted(p.ip for p in jig.pods(MYAPP_SELECTOR))

    def observe() -> Verdict:
        now = jig.endpoints("myapp-follow-nothing")
        return Verdict("Service myapp-follow-nothing's ready endpoints", now == want, str(want), str(now))

    verdict, _ = settle(observe, timeout=window)
    refuted(verdict.noted(f"watched {window:.0f} s"), "a selector that matches no pod")
