"""Programming latency (issue 15): with 10, 100 and 1000 Services in the lab, a new Service
answers through its ClusterIP (from the probe pod) and its NodePort (from outside) soon after the
API server has it, and an endpoint taken away stops answering soon after; kube-proxy's own sync
and programming histograms are read over each step. Off by default: `pytest suites -m latency`
(SVCLAB_LATENCY_SERVICES="10 100" for fewer); bench/latency.py runs it per mode and draws the chart.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from svclab.expect import Verdict, followed_within, refuted, settle, verify, verify_all
from svclab.expect.traffic import answered
from svclab.plugin.fixtures import Client, Jig, LiveLab, Pod, Probe, Shell, curl_batch
from svclab.plugin.latency import (
    BASELINE,
    NODE_PORT_FIRST,
    PROGRAMMING,
    RATE,
    REMOVAL_RATE,
    SYNC,
    EventClock,
    Sample,
    TimedClient,
    fill,
    first_answer_sample,
    histogram,
    metrics,
    node_offset,
    removal_sample,
    static_ip,
    timed_change,
)

COUNTS = [int(n) for n in os.environ.get("SVCLAB_LATENCY_SERVICES", "10 100 1000").split()]
SAMPLES = 5  # new Services timed per step
REMOVALS = 3  # endpoints taken away per step
RUN = 200  # requests per timed run, 10 a second: a 20 s window
REMOVAL_RUN = 400  # requests per removal run, 50 a second: 3 s before the change, 5 s after
REMOVAL = {"latency": "in"}  # the label the removal Service selects

pytestmark = pytest.mark.latency


@pytest.fixture(scope="module")
def clients(lab: LiveLab, jig: Jig, probe: Probe, outside: Client, shells: dict[str, Shell]) -> dict[str, TimedClient]:
    node = shells[jig.pods({"probe": probe.name})[0].node]
    return {"probe": TimedClient(probe.shell, node, node_offset(node, local=False)),
            "outside": TimedClient(outside, outside, node_offset(outside, local=True))}


@pytest.fixture(scope="module", params=COUNTS, ids=[f"{n}-services" for n in COUNTS])
def services(request: pytest.FixtureRequest, kube: object, jig: Jig, probe: Probe, myapp: list[Pod]) -> int:
    """The lab holds this many Services (fill-0000 ...), the last one answering."""
    count: int = request.param
    fill(kube, jig.namespace, count, {"app": "myapp"})
    last = jig.get("service", f"fill-{count - 1:04d}")["spec"]["clusterIP"]
    probe.wait_answers(f"http://{last}/hostname.html", timeout=600)
    return count


@pytest.fixture(scope="module")
def removable(jig: Jig, probe: Probe, myapp: list[Pod]) -> Iterator[str]:
    """A Service over myapp's pods by a label of their own (taking it off leaves the Deployment be)."""
    jig.run("label", "pods", *(p.name for p in myapp), "latency=in", "--overwrite").check("kubectl label")
    ip = str(jig.create_service("lat-removal", tweak=lambda s: s["spec"].update(selector=REMOVAL))["spec"]["clusterIP"])
    jig.wait_endpoints("lat-removal", [p.ip for p in myapp])
    yield ip


def windows(lab: LiveLab, shells: dict[str, Shell]) -> dict[str, str]:
    return {n.name: metrics(shells[n.name]).stdout for n in lab.dataplane}


def kube_proxy_notes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """kube-proxy's own account of the step, per data-plane node: its syncs and programming."""
    notes = []
    for node in after:
        for name, label in ((SYNC, "sync"), (PROGRAMMING, "endpoint change programmed")):
            a, b = histogram(before.get(node, ""), name), histogram(after[node], name)
            if a is None or b is None:
                notes.append(f"{node}: kube-proxy gives no {label} histogram")
                continue
            w = b.minus(a)
            q50, q99 = w.quantile(0.5), w.quantile(0.99)
            notes.append(f"{node}: kube-proxy {label}: {w.count:.0f} in the step" + (
                f", p50 {q50:.3f} s, p99 {q99:.3f} s" if q50 is not None and q99 is not None else ""))
    return notes


def judged(what: str, services: int, samples: list[Sample], notes: list[str], run: int = RUN,
           resolution: str = f"{1 / RATE:.1f} s ({RATE:.0f} requests a s)") -> Verdict:
    asked = sum(s.run.batch.requested for s in samples if s.run) + run * sum(s.run is None for s in samples)
    got = sum(len(s.run.batch.answers) for s in samples if s.run)
    verdict = followed_within(what, services, [s.seconds for s in samples], [s.why for s in samples], (asked, got))
    for note in notes:
        verdict = verdict.noted(note)
    worst = max((s.offset.uncertainty for s in samples), default=0.0)
    return verdict.noted(f"client clock offset uncertainty up to {worst:.3f} s; resolution {resolution}")


def new_service_samples(lab: LiveLab, jig: Jig, kube: object, clients: dict[str, TimedClient], services: int,
                        count: int, first: int = 0) -> list[Sample]:
    address = lab.dataplane[0].address
    samples: list[Sample] = []
    for k in range(first, first + count):
        name, ip, port = f"lat-{k}", static_ip(lab.spec.service_subnet, k), NODE_PORT_FIRST + k

        def create(name: str = name, ip: str = ip, port: int = port) -> None:
            def tweak(s: dict[str, object]) -> None:
                spec = s["spec"]
                assert isinstance(spec, dict)
                spec.update(type="NodePort", clusterIP=ip)
                spec["ports"][0]["nodePort"] = port

            jig.create_service(name, tweak=tweak)

        with EventClock(kube, jig.namespace, "services") as events:
            urls = {"probe": f"http://{ip}/hostname.html", "outside": f"http://{address}:{port}/hostname.html"}
            runs = timed_change({who: (clients[who], url) for who, url in urls.items()}, create, RUN)
            t0 = events.first(lambda kind, obj: kind == "ADDED" and obj["metadata"]["name"] == name)  # noqa: B023
        samples += [first_answer_sample("ClusterIP", services, runs.get("probe"), t0, clients["probe"]),
                    first_answer_sample("NodePort", services, runs.get("outside"), t0, clients["outside"])]
        jig.run("delete", "service", name).check("kubectl delete service")
    return samples


def test_a_new_service_answers_soon(lab: LiveLab, jig: Jig, kube: object, clients: dict[str, TimedClient],
                                    shells: dict[str, Shell], services: int) -> None:
    before = windows(lab, shells)
    samples = new_service_samples(lab, jig, kube, clients, services, SAMPLES)
    notes = kube_proxy_notes(before, windows(lab, shells))
    verify_all([judged(what, services, [s for s in samples if s.what == what], notes)
                for what in ("ClusterIP", "NodePort")])


def test_a_removed_endpoint_stops_answering_soon(jig: Jig, kube: object, clients: dict[str, TimedClient],
                                                 myapp: list[Pod], removable: str, services: int) -> None:
    samples = []
    for pod in myapp[:REMOVALS]:
        def take_away(pod: Pod = pod) -> None:
            jig.run("label", "pod", pod.name, "latency-").check("kubectl label (remove)")

        def gone(kind: str, obj: dict[str, Any], ip: str = pod.ip) -> bool:
            named = obj["metadata"].get("labels", {}).get("kubernetes.io/service-name")
            return kind == "MODIFIED" and named == "lat-removal" and all(
                ip not in e.get("addresses", []) for e in obj.get("endpoints") or [])

        with EventClock(kube, jig.namespace, "endpointslices") as events:
            runs = timed_change({"probe": (clients["probe"], f"http://{removable}/hostname.html")}, take_away,
                                REMOVAL_RUN, lead=BASELINE, rate=REMOVAL_RATE)
            t0 = events.first(gone)
        samples.append(removal_sample(services, runs.get("probe"), t0, pod.name, clients["probe"]))
        jig.run("label", "pod", pod.name, "latency=in").check("kubectl label (back)")
        jig.wait_endpoints("lat-removal", [p.ip for p in myapp])
    # a request goes to the leaving pod 1 time in len(myapp): its last answer lies that many
    # requests, on average, before kube-proxy took it away
    gap = len(myapp) / REMOVAL_RATE
    verify(judged("endpoint removed", services, samples, [], REMOVAL_RUN,
                  f"~{gap:.2f} s ({REMOVAL_RATE:.0f} requests a s over {len(myapp)} pods)"))


def test_negative_control_with_kube_proxy_stopped_a_new_service_never_answers(
        lab: LiveLab, jig: Jig, kube: object, clients: dict[str, TimedClient], shells: dict[str, Shell],
        probe: Probe) -> None:
    """kube-proxy on the probe's node is the real cause: stopped (SIGSTOP) while a Service is
    made, the probe's run never gets an answer, and the same check fails; resumed, it answers."""
    node = clients["probe"].node
    node.run(["pkill", "-STOP", "-x", "kube-proxy"]).check("pkill -STOP -x kube-proxy")
    try:
        samples = new_service_samples(lab, jig, kube, clients, 0, 1, first=SAMPLES)
    finally:
        node.run(["pkill", "-CONT", "-x", "kube-proxy"]).check("pkill -CONT -x kube-proxy")
    refuted(judged("ClusterIP", 0, [s for s in samples if s.what == "ClusterIP"], []),
            "kube-proxy stopped on the probe's node while the Service was made")
    ip = static_ip(lab.spec.service_subnet, 0)
    jig.create_service("lat-after", tweak=lambda s: s["spec"].update(clusterIP=ip))
    verify(settle(lambda: answered(curl_batch(probe, f"http://{ip}/hostname.html", 6)), timeout=60)[0])
