"""IPVS schedulers (the seeds list rr, lc, dh, sh, sed, nq): kube-proxy hands its scheduler
to the kernel, and each one places one client's sequential requests its own way.

Each scheduler gets a Service of its own, so that its real servers start with no connection
counted. Every request is a new connection that is closed before the next one starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from svclab.expect import Verdict, ipvs_virtual_server, one_pod, refuted, round_robin, settle, verify
from svclab.plugin.fixtures import (
    Batch,
    Jig,
    LiveLab,
    Pod,
    Probe,
    kube_proxy_config,
    put_kube_proxy_config,
    set_ipvs_scheduler,
)

pytestmark = [pytest.mark.requires_proxy_mode("ipvs", reason="the schedulers are the kernel's ip_vs"),
              pytest.mark.changes_cluster("sets kube-proxy's IPVS scheduler in its ConfigMap and restarts it"),
              pytest.mark.usefixtures("shells")]

REQUESTS = 30


def cycles(batch: Batch, pods: list[Pod]) -> Verdict:
    return round_robin(batch, [p.name for p in pods])


def stays(name: str) -> Callable[[Batch, list[Pod]], Verdict]:
    return lambda b, pods: one_pod(b, [p.name for p in pods], name)


# scheduler -> what one client's sequential requests see
BEHAVIOUR = {
    "rr": cycles,  # round robin
    "lc": cycles,  # least connections: a closed connection still counts as inactive
    "dh": stays("dh hashes the destination (the ClusterIP) to one pod"),
    "sh": stays("sh hashes the source (the probe's IP) to one pod"),
    "sed": stays("sed: no active connection anywhere, so the first server"),
    "nq": stays("nq: the first idle server, every time"),
}


@pytest.fixture(scope="module", autouse=True)
def restore_scheduler(lab: LiveLab) -> Iterator[None]:
    """Put back kube-proxy's configuration as it was before this module, byte for byte."""
    original = kube_proxy_config(lab.kubectl)
    yield
    put_kube_proxy_config(lab.kubectl, original, "restoring kube-proxy's original configuration")


def scheduled_service(lab: LiveLab, jig: Jig, probe: Probe, myapp: list[Pod], scheduler: str) -> str:
    """A fresh Service whose IPVS virtual server uses `scheduler`; its ClusterIP."""
    set_ipvs_scheduler(lab.kubectl, scheduler)
    ip = jig.expose(f"myapp-{scheduler}", myapp, probe)

    verdict, _ = settle(lambda: ipvs_virtual_server(lab.on_dataplane(["ipvsadm", "-Ln"]), ip, 80, scheduler),
                        timeout=60, interval=1)
    verify(verdict)
    return ip


@pytest.mark.parametrize("scheduler", list(BEHAVIOUR))
def test_scheduler_places_sequential_requests(lab: LiveLab, jig: Jig, probe: Probe, myapp: list[Pod],
                                              scheduler: str) -> None:
    ip = scheduled_service(lab, jig, probe, myapp, scheduler)
    dumps = lab.on_dataplane(["ipvsadm", "-Ln"])
    verify(ipvs_virtual_server(dumps, ip, 80, scheduler, jig.endpoints(f"myapp-{scheduler}")))
    verify(BEHAVIOUR[scheduler](probe.curl(f"http://{ip}/hostname.html", REQUESTS), myapp))


def test_negative_control_rr_is_not_one_pod_and_sh_does_not_cycle(lab: LiveLab, jig: Jig, probe: Probe,
                                                                   myapp: list[Pod]) -> None:
    """The scheduler is the real cause: each behaviour's check fails on the other scheduler."""
    rr = probe.curl(f"http://{scheduled_service(lab, jig, probe, myapp, 'rr')}/hostname.html", REQUESTS)
    verify(cycles(rr, myapp))
    refuted(BEHAVIOUR["sh"](rr, myapp), "kube-proxy's scheduler rr instead of sh")
    sh = probe.curl(f"http://{scheduled_service(lab, jig, probe, myapp, 'sh')}/hostname.html", REQUESTS)
    verify(BEHAVIOUR["sh"](sh, myapp))
    refuted(cycles(sh, myapp), "kube-proxy's scheduler sh instead of rr")
