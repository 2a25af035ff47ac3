"""What the latency suite imports (issue 15): the timed clients, the change they time, and
kube-proxy's histograms. Kept apart from svclab.plugin.fixtures, which every suite imports."""

from __future__ import annotations

from svclab.harness.latency import (
    BASELINE,
    NODE_PORT_FIRST,
    RATE,
    REMOVAL_RATE,
    EventClock,
    Sample,
    TimedClient,
    fill,
    first_answer_sample,
    node_offset,
    removal_sample,
    static_ip,
    stream_through,
    timed_change,
)
from svclab.observe.kubeproxy import metrics
from svclab.observe.latency import stream_loss
from svclab.observe.metrics import PROGRAMMING, SYNC, Histogram, histogram

__all__ = [
    "BASELINE",
    "NODE_PORT_FIRST",
    "PROGRAMMING",
    "RATE",
    "REMOVAL_RATE",
    "SYNC",
    "EventClock",
    "Histogram",
    "Sample",
    "TimedClient",
    "fill",
    "first_answer_sample",
    "histogram",
    "metrics",
    "node_offset",
    "removal_sample",
    "static_ip",
    "stream_loss",
    "stream_through",
    "timed_change",
]
