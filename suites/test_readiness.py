"""Readiness: Endpoints hold only ready pods; an unready pod leaves the rotation and
comes back when it is ready again."""

from __future__ import annotations

import pytest

from svclab.expect import holds, reaches_all, refuted, verify
from svclab.plugin.fixtures import Jig, Pod, Probe

REQUESTS = 60


@pytest.fixture(scope="module")
def clusterip(jig: Jig, probe: Probe, myapp: list[Pod]) -> str:
    return jig.expose("myapp-ready", myapp, probe)


def set_ready(probe: Probe, pod: Pod, state: int) -> None:
    """myapp's admin endpoint makes its readiness probe fail (0) or pass (1)."""
    result = probe.run(["curl", "-sf", "--max-time", "2", f"http://{pod.ip}/admin/ready?state={state}"])
    verify(holds(f"{pod.name} takes readiness state {state}", result.ok, "HTTP 200 from /admin/ready",
                 f"exit {result.rc}", result))


def test_unready_pod_leaves_endpoints_and_rotation_then_returns(
        jig: Jig, probe: Probe, myapp: list[Pod], clusterip: str) -> None:
    sick, others = myapp[0], myapp[1:]
    url = f"http://{clusterip}/hostname.html"
    set_ready(probe, sick, 0)
    try:
        jig.wait_endpoints("myapp-ready", [p.ip for p in others], timeout=30, facts=jig.facts("myapp-ready"))
        probe.wait_only(url, [p.name for p in others], facts=jig.facts("myapp-ready"))
        verify(reaches_all(probe.curl(url, REQUESTS), [p.name for p in others]), jig.facts("myapp-ready"))
    finally:
        set_ready(probe, sick, 1)
    jig.wait_endpoints("myapp-ready", [p.ip for p in myapp], timeout=30, facts=jig.facts("myapp-ready"))
    probe.wait_only(url, [p.name for p in myapp], facts=jig.facts("myapp-ready"))
    verify(reaches_all(probe.curl(url, REQUESTS), [p.name for p in myapp]), jig.facts("myapp-ready"))


def test_negative_control_reaches_all_fails_while_a_pod_is_unready(
        jig: Jig, probe: Probe, myapp: list[Pod], clusterip: str) -> None:
    """The readiness probe is the real cause: with one pod failing it, the check that expects
    all three pods fails, and the unready pod is the one with no answers."""
    url = f"http://{clusterip}/hostname.html"
    verify(reaches_all(probe.curl(url, REQUESTS), [p.name for p in myapp]))
    set_ready(probe, myapp[0], 0)
    try:
        jig.wait_endpoints("myapp-ready", [p.ip for p in myapp[1:]], timeout=30)
        probe.wait_only(url, [p.name for p in myapp[1:]])
        broken = refuted(reaches_all(probe.curl(url, REQUESTS), [p.name for p in myapp]),
                         f"{myapp[0].name} failing its readiness probe")
    finally:
        set_ready(probe, myapp[0], 1)
    assert broken.data["counts"].get(myapp[0].name, 0) == 0 and not broken.data["failures"], broken.report()  # type: ignore[attr-defined]
    jig.wait_endpoints("myapp-ready", [p.ip for p in myapp], timeout=30)
