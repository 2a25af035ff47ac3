"""Readiness: Endpoints hold only ready pods; an unready pod leaves the rotation and
comes back when it is ready again."""

from __future__ import annotations

import pytest

from svclab.expect import reaches_all, verify
from svclab.facts import service_facts
from svclab.fixtures import LiveLab
from svclab.jig import Jig, Pod, Probe

REQUESTS = 60


@pytest.fixture(scope="module")
def clusterip(jig: Jig, probe: Probe, myapp: list[Pod]) -> str:
    return jig.expose("myapp-ready", myapp, probe)


def set_ready(probe: Probe, pod: Pod, state: int) -> None:
    result = probe.run(["curl", "-sf", "--max-time", "2", f"http://{pod.ip}/admin/ready?state={state}"])
    assert result.ok, result.describe()


def test_unready_pod_leaves_endpoints_and_rotation_then_returns(
        lab: LiveLab, jig: Jig, probe: Probe, myapp: list[Pod], clusterip: str) -> None:
    sick, others = myapp[0], myapp[1:]
    set_ready(probe, sick, 0)
    try:
        jig.wait_endpoints("myapp-ready", [p.ip for p in others], timeout=30)
        probe.wait_only(f"http://{clusterip}/hostname.html", [p.name for p in others])
        batch = probe.curl(f"http://{clusterip}/hostname.html", REQUESTS)
        verify(reaches_all(batch, [p.name for p in others]), service_facts(lab, jig, "myapp-ready"))
    finally:
        set_ready(probe, sick, 1)
    jig.wait_endpoints("myapp-ready", [p.ip for p in myapp], timeout=30)
    probe.wait_only(f"http://{clusterip}/hostname.html", [p.name for p in myapp])
    batch = probe.curl(f"http://{clusterip}/hostname.html", REQUESTS)
    verify(reaches_all(batch, [p.name for p in myapp]), service_facts(lab, jig, "myapp-ready"))


def test_negative_control_reaches_all_fails_while_a_pod_is_unready(
        jig: Jig, probe: Probe, myapp: list[Pod], clusterip: str) -> None:
    """Expecting all three pods while one is unready must fail, saying which one is missing."""
    set_ready(probe, myapp[0], 0)
    try:
        jig.wait_endpoints("myapp-ready", [p.ip for p in myapp[1:]], timeout=30)
        probe.wait_only(f"http://{clusterip}/hostname.html", [p.name for p in myapp[1:]])
        batch = probe.curl(f"http://{clusterip}/hostname.html", REQUESTS)
        with pytest.raises(AssertionError) as failure:
            verify(reaches_all(batch, [p.name for p in myapp]))
    finally:
        set_ready(probe, myapp[0], 1)
    assert f"{myapp[0].name}=0" in str(failure.value) and "expected:" in str(failure.value)
    jig.wait_endpoints("myapp-ready", [p.ip for p in myapp], timeout=30)
