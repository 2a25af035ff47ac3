"""kube-proxy's own account of its work: the histograms on its /metrics (how long a sync of the
rules took, how long an endpoint change took to reach the data plane), read between two scrapes.

Parsing is prometheus_client's; the quantile is PromQL's histogram_quantile (linear within the
bucket that holds the rank), written here because prometheus_client has no query side.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

SYNC = "kubeproxy_sync_proxy_rules_duration_seconds"  # one full pass over the rules
PROGRAMMING = "kubeproxy_network_programming_duration_seconds"  # an endpoint change -> programmed
IPV4 = {"ip_family": "IPv4"}


@dataclass(frozen=True)
class Histogram:
    buckets: tuple[tuple[float, float], ...]  # (upper bound, cumulative count), ascending, +Inf last
    count: float
    total: float  # the sum of every observation, in seconds

    def minus(self, earlier: Histogram) -> Histogram:
        """The observations made between the earlier scrape and this one (a restart between the
        two makes counts fall: then this scrape's own, all since the restart)."""
        if self.count < earlier.count or len(self.buckets) != len(earlier.buckets):
            return self
        return Histogram(tuple((le, n - m) for (le, n), (_, m) in zip(self.buckets, earlier.buckets, strict=True)),
                         self.count - earlier.count, self.total - earlier.total)

    def quantile(self, q: float) -> float | None:
        """The q-quantile as PromQL's histogram_quantile estimates it; None without observations.
        A rank in the +Inf bucket answers the highest finite bound (the estimate cannot go past it)."""
        if self.count <= 0:
            return None
        rank = q * self.count
        lower, below = 0.0, 0.0
        for le, cumulative in self.buckets:
            if cumulative >= rank:
                if math.isinf(le):
                    return lower
                inside = cumulative - below
                return lower + (le - lower) * ((rank - below) / inside if inside else 0.0)
            lower, below = le, cumulative
        return lower

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None


def body(raw: str) -> str:
    """The metrics text of a raw HTTP answer (a node's /dev/tcp GET), or the text itself."""
    if not raw.startswith("HTTP/"):
        return raw
    parts = re.split(r"\r?\n\r?\n", raw, maxsplit=1)
    return parts[1] if len(parts) == 2 else ""


def histogram(raw: str, name: str, labels: dict[str, str] | None = None) -> Histogram | None:
    """The histogram `name` whose labels include `labels` (IPv4 by default); None when absent."""
    wanted = IPV4 if labels is None else labels
    for family in text_string_to_metric_families(body(raw)):
        if family.name != name or family.type != "histogram":
            continue
        buckets: dict[float, float] = {}
        count = total = None
        for s in family.samples:
            if any(s.labels.get(k) != v for k, v in wanted.items()):
                continue
            if s.name.endswith("_bucket"):
                buckets[float(s.labels["le"])] = float(s.value)
            elif s.name.endswith("_count"):
                count = float(s.value)
            elif s.name.endswith("_sum"):
                total = float(s.value)
        if buckets and count is not None and total is not None:
            return Histogram(tuple(sorted(buckets.items())), count, total)
    return None
