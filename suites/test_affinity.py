"""Session affinity: ClientIP keeps one client on one pod; None spreads.

Timeouts: IPVS does not honour affinity timeouts below about 120 s (kubernetes issue
89358), so these checks keep the default (10800 s), which holds in every mode."""

from __future__ import annotations

import pytest

from svclab.expect import one_pod, reaches_all, verify
from svclab.facts import service_facts
from svclab.fixtures import LiveLab
from svclab.jig import Jig, Pod, Probe

REQUESTS = 60


def affinity(mode: str) -> object:
    return lambda s: s["spec"].update(sessionAffinity=mode)


@pytest.fixture(scope="module")
def ips(jig: Jig, probe: Probe, myapp: list[Pod]) -> dict[str, str]:
    out = {}
    for mode in ("ClientIP", "None"):
        name = f"myapp-affinity-{mode.lower()}"
        out[mode] = jig.expose(name, myapp, probe, tweak=affinity(mode))  # type: ignore[arg-type]
    return out


def test_clientip_keeps_one_client_on_one_pod(lab: LiveLab, jig: Jig, probe: Probe,
                                               ips: dict[str, str]) -> None:
    batch = probe.curl(f"http://{ips['ClientIP']}/hostname.html", REQUESTS)
    verify(one_pod(batch), service_facts(lab, jig, "myapp-affinity-clientip"))


def test_none_spreads_over_every_pod(lab: LiveLab, jig: Jig, probe: Probe, myapp: list[Pod],
                                     ips: dict[str, str]) -> None:
    batch = probe.curl(f"http://{ips['None']}/hostname.html", REQUESTS)
    verify(reaches_all(batch, [p.name for p in myapp]), service_facts(lab, jig, "myapp-affinity-none"))


def test_only_none_and_clientip_exist(jig: Jig, myapp: list[Pod]) -> None:
    import json

    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bad-affinity"},
           "spec": {"selector": {"app": "myapp"}, "sessionAffinity": "Cookie", "ports": [{"port": 80}]}}
    result = jig.kubectl.run("create", "-n", jig.namespace, "-f", "-", stdin=json.dumps(bad))
    assert not result.ok and "Unsupported value" in result.stderr, result.describe()


def test_negative_control_affinity_off_does_not_stick(probe: Probe, ips: dict[str, str]) -> None:
    batch = probe.curl(f"http://{ips['None']}/hostname.html", REQUESTS)
    with pytest.raises(AssertionError) as failure:
        verify(one_pod(batch))
    assert "one client stays on one pod: does NOT hold" in str(failure.value)
