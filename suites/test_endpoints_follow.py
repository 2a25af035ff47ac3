"""Endpoints follow the pods: scaling 3 -> 5 -> 2 and deleting a pod change the
Endpoints and the data plane within a measured time; the ClusterIP never changes."""

from __future__ import annotations

import time

import pytest

from svclab.fixtures import LiveLab
from svclab.jig import MYAPP_SELECTOR, Jig, Pod, Probe

FOLLOW_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def clusterip(jig: Jig, probe: Probe, myapp: list[Pod]) -> str:
    return jig.expose("myapp-follow", myapp, probe)


@pytest.mark.parametrize("replicas", [5, 2])
def test_scaling_changes_endpoints_and_data_plane(
        lab: LiveLab, jig: Jig, probe: Probe, clusterip: str, replicas: int,
        record_property: pytest.RecordProperty) -> None:
    start = time.monotonic()
    jig.run("scale", "deployment/myapp-deploy", f"--replicas={replicas}").check("kubectl scale")
    pods = jig.wait_ready_pods(MYAPP_SELECTOR, replicas, timeout=FOLLOW_TIMEOUT)
    jig.wait_endpoints("myapp-follow", [p.ip for p in pods], timeout=FOLLOW_TIMEOUT)
    probe.wait_only(f"http://{clusterip}/hostname.html", [p.name for p in pods], timeout=FOLLOW_TIMEOUT)
    record_property(f"follow_seconds_{replicas}", round(time.monotonic() - start, 2))
    assert jig.get("service", "myapp-follow")["spec"]["clusterIP"] == clusterip


def test_deleting_a_pod_replaces_its_endpoint(jig: Jig, probe: Probe, clusterip: str) -> None:
    before = jig.wait_ready_pods(MYAPP_SELECTOR, 2)
    jig.run("delete", "pod", before[0].name, "--wait=false").check("kubectl delete pod")
    after = jig.wait_ready_pods(MYAPP_SELECTOR, 2, timeout=FOLLOW_TIMEOUT)
    assert before[0].name not in {p.name for p in after}
    jig.wait_endpoints("myapp-follow", [p.ip for p in after], timeout=FOLLOW_TIMEOUT)
    probe.wait_only(f"http://{clusterip}/hostname.html", [p.name for p in after], timeout=FOLLOW_TIMEOUT)
    assert jig.get("service", "myapp-follow")["spec"]["clusterIP"] == clusterip


def test_negative_control_a_selector_matching_nothing_never_gets_endpoints(jig: Jig, myapp: list[Pod]) -> None:
    from svclab.errors import WaitTimeout

    jig.create_service("myapp-follow-nothing", tweak=lambda s: s["spec"].update(selector={"app": "nothing"}))
    with pytest.raises(WaitTimeout) as failure:
        jig.wait_endpoints("myapp-follow-nothing", [p.ip for p in myapp[:1]], timeout=5)
    assert "endpoints now: []" in str(failure.value)
