"""Programming latency (issue 15): how long after a Service or an endpoint changes in the API the
data plane follows, seen by a client, and what kube-proxy says of its own syncs meanwhile.

The change's time (t0) is this host's clock when the API server's watch delivered it: the new
Service's ADDED event, or the EndpointSlice MODIFIED event that dropped a pod. The client's times
are its node's clock put on this host's by a measured offset (zero on kind nodes, which share
this host's kernel clock; the IPVS VM's read over SSH, with its uncertainty). A client run
starts before the change and must fail at least once before its first answer, else the sample
says it cannot time the change (the client started too late) rather than giving a number.
"""

from __future__ import annotations

import ipaddress
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client, watch

from svclab.core.shell import Shell
from svclab.core.wait import wait_for
from svclab.observe.latency import ClockOffset, TimedBatch, clock_offset, timed_batch

FILL_PREFIX = "fill-"
STATIC_FIRST = 100  # ClusterIPs .100-.199 of the Service range: its static band (KEP-3070)
NODE_PORT_FIRST = 30040  # node ports 30040-30079: the static band of 30000-32767 (KEP-3668)
RATE = 10.0  # requests per second while waiting for the first answer (the resolution: 0.1 s)
# an endpoint's leaving is seen only by requests that would have gone to it (1 in 3 with three
# pods): at 10 a second the last answer from it lay ~0.3 s before its leaving, more than the
# ~0.1 s kube-proxy takes (iptables lab, first live run), so removals are streamed faster
REMOVAL_RATE = 50.0
BASELINE = 3.0  # s a stream runs before the change: 30 requests, each of 3 pods missed with p < 1e-5


@dataclass(frozen=True)
class Sample:
    what: str  # "ClusterIP", "NodePort", "endpoint removed"
    services: int  # Services in the namespace when measured
    seconds: float | None  # t0 to the first answer (or to the last answer from the removed pod)
    why: str  # "" when timed; else why this sample gives no number
    offset: ClockOffset
    run: TimedBatch | None = None


@dataclass
class EventClock:
    """This host's clock at each watch event of one kind of object in one namespace."""

    api: Any  # a kubernetes ApiClient
    namespace: str
    kind: str  # "services" or "endpointslices"
    seen: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)  # (time, type, object)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> EventClock:
        apis: Any = (client.CoreV1Api(self.api), client.DiscoveryV1Api(self.api))
        lister = (apis[0].list_namespaced_service if self.kind == "services"
                  else apis[1].list_namespaced_endpoint_slice)
        version = lister(self.namespace).metadata.resource_version
        self._thread = threading.Thread(target=self._follow, args=(lister, version), daemon=True)
        self._thread.start()
        return self

    def _follow(self, lister: Callable[..., Any], version: str) -> None:
        stream: Any = watch.Watch()  # type: ignore[no-untyped-call]
        for event in stream.stream(lister, self.namespace, resource_version=version, timeout_seconds=180):
            self.seen.append((time.time(), event["type"], self.api.sanitize_for_serialization(event["object"])))
            if self._stop.is_set():
                stream.stop()

    def __exit__(self, *_: object) -> None:
        self._stop.set()

    def first(self, matches: Callable[[str, dict[str, Any]], bool], timeout: float = 60) -> float:
        """The time of the first event that matches (waiting for it, bounded)."""
        return wait_for(lambda: next((t for t, kind, obj in list(self.seen) if matches(kind, obj)), None),
                        what=f"a watch event on {self.kind} in {self.namespace}", timeout=timeout, interval=0.05)


def fill(api: Any, namespace: str, count: int, selector: dict[str, str], workers: int = 8) -> int:
    """Create Services fill-0000.. until `count` exist (each selecting `selector`, port 80);
    returns how many were created. kubectl would make one process per object: the client's
    calls, a few at a time, keep the API server's pace the limit."""
    core: Any = client.CoreV1Api(api)
    listed = core.list_namespaced_service(namespace).items
    have = {s.metadata.name for s in listed if s.metadata.name.startswith(FILL_PREFIX)}
    wanted = [f"{FILL_PREFIX}{i:04d}" for i in range(count) if f"{FILL_PREFIX}{i:04d}" not in have]

    def create(name: str) -> None:
        core.create_namespaced_service(namespace, {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": {"svclab.io/fill": "1"}},
            "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": 80}]}})

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(create, wanted))
    return len(wanted)


def static_ip(service_subnet: str, i: int) -> str:
    net = ipaddress.ip_network(service_subnet)
    return str(net.network_address + STATIC_FIRST + i % 100)


def node_offset(shell: Shell, local: bool, readings: int = 5) -> ClockOffset:
    """The node's clock minus this host's: 0 for a container on this host's kernel."""
    if local:
        return ClockOffset(0.0, 0.0)
    found = []
    for _ in range(readings):
        before = time.time()
        node = float(shell.run(["date", "+%s.%N"]).check("date on the node").stdout.strip())
        found.append((before, node, time.time()))
    return clock_offset(found)


def started(shell: Shell, marker: str) -> bool:
    return shell.run(["pgrep", "-f", marker]).ok


@dataclass(frozen=True)
class TimedClient:
    """Where a timed run is made from, and the node whose clock and processes it shares."""

    shell: Shell  # the probe pod, or the outside client
    node: Shell  # where `pgrep` sees its run (the pod's node, or the client container itself)
    offset: ClockOffset


def stream_through(client_: TimedClient, url: str, change: Callable[[], object], seconds: float
                   ) -> tuple[TimedBatch | None, float, float]:
    """A constant stream (RATE a second for `seconds`) from the client while `change` runs: the
    run, and the change's start and end on the client's clock."""
    marks: list[float] = []

    def marked() -> None:
        marks.append(time.time())
        change()
        marks.append(time.time())

    runs = timed_change({"client": (client_, url)}, marked, int(seconds * RATE), lead=BASELINE)
    return runs.get("client"), marks[0] + client_.offset.seconds, marks[-1] + client_.offset.seconds


def timed_change(clients: dict[str, tuple[TimedClient, str]], change: Callable[[], object], count: int,
                 lead: float = 0.0, rate: float = RATE) -> dict[str, TimedBatch]:
    """Start a timed run on each client (name -> (client, url)), make the change `lead` s after
    every run is under way, and return the runs when they end (each bounded: count / rate s at least)."""
    marker = f"svclab-timed-{uuid.uuid4().hex[:8]}"
    runs: dict[str, TimedBatch] = {}

    def one(name: str, c: TimedClient, url: str) -> None:
        runs[name] = timed_batch(c.shell, url, count, rate, marker=marker)

    threads = [threading.Thread(target=one, args=(name, c, url), daemon=True) for name, (c, url) in clients.items()]
    for t in threads:
        t.start()
    for name, (c, _) in clients.items():
        wait_for(lambda c=c: started(c.node, marker), what=f"the timed run from {name} under way", timeout=60,  # type: ignore[misc]
                 interval=0.2)
    # the stream's baseline before the change (a removed pod must have answered, a stream must be
    # clean first): part of what is measured, not a wait for some state, hence a plain sleep
    time.sleep(lead)
    change()
    for t in threads:
        t.join(timeout=count / rate + count * 1.0 + 60)
    return runs


def first_answer_sample(what: str, services: int, run: TimedBatch | None, t0: float, c: TimedClient) -> Sample:
    """t0 (this host's clock) to the run's first answer (the client's clock, moved onto this host's)."""
    if run is None or not run.batch.answers:
        return Sample(what, services, None, "the client's run came back empty", c.offset, run)
    answers = run.batch.answers
    first = next((i for i, a in enumerate(answers) if a.ok), None)
    if first is None:
        return Sample(what, services, None, f"no answer in {len(answers)} requests", c.offset, run)
    if first == 0 or run.starts[0] - c.offset.seconds > t0:
        return Sample(what, services, None, "the client's run started after the change: not timed", c.offset, run)
    answered = run.answered_at(first) - c.offset.seconds
    return Sample(what, services, max(0.0, answered - t0), "", c.offset, run)


def removal_sample(services: int, run: TimedBatch | None, t0: float, pod: str, c: TimedClient) -> Sample:
    """t0 (the EndpointSlice without `pod`) to the last answer from `pod`; it must have answered
    before t0, else the run cannot time its leaving."""
    what = "endpoint removed"
    if run is None or not run.batch.answers:
        return Sample(what, services, None, "the client's run came back empty", c.offset, run)
    local_t0 = t0 + c.offset.seconds
    before = [i for i, a in enumerate(run.batch.answers) if a.ok and a.body == pod and run.answered_at(i) < local_t0]
    if not before:
        return Sample(what, services, None, f"{pod} never answered before it was removed: not timed", c.offset, run)
    last = run.last_from(pod)
    assert last is not None
    if last >= run.starts[-1]:
        return Sample(what, services, None, f"{pod} still answered at the run's end", c.offset, run)
    return Sample(what, services, max(0.0, last - local_t0), "", c.offset, run)
