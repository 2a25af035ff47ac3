"""How soon the data plane followed a change, over a few timed samples (issue 15)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from svclab.expect.verdict import Verdict
from svclab.observe.latency import StreamLoss

SLO = 30.0  # s: upstream's network programming latency SLO (p99, large clusters)


def spread(seconds: Sequence[float]) -> tuple[float, float]:
    """(p50, p99) of the timed samples; with few samples p99 is close to the largest."""
    if len(seconds) == 1:
        return seconds[0], seconds[0]
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return statistics.median(seconds), cuts[98]


def followed_within(what: str, services: int, seconds: Sequence[float | None], why_not: Sequence[str],
                    transfers: tuple[int, int], bound: float = SLO) -> Verdict:
    """Every sample timed (a sample that could not time its change is no evidence either way)
    and each within `bound`. `transfers`: the requests the samples' runs asked for and got back
    (a run cut short shows nothing)."""
    timed = [s for s in seconds if s is not None]
    ok = bool(seconds) and len(timed) == len(seconds) and max(timed) <= bound
    expected = f"all {len(seconds)} samples timed, each within {bound:.0f} s"
    if timed:
        p50, p99 = spread(timed)
        observed = (f"{len(timed)} of {len(seconds)} timed: p50 {p50:.2f} s, p99 {p99:.2f} s, "
                    f"max {max(timed):.2f} s")
    else:
        p50 = p99 = float("nan")
        observed = f"none of {len(seconds)} timed"
    reasons = sorted({w for w in why_not if w})
    if reasons:
        observed += f"; not timed: {'; '.join(reasons)}"
    data: dict[str, object] = {"what": what, "services": services, "latency": list(seconds),
                               "requested": transfers[0], "answered": transfers[1]}
    if transfers[1] < transfers[0]:
        ok = False
        observed += f"; the runs came back short: {transfers[1]} of {transfers[0]} requests"
    if timed:
        data.update(p50=p50, p99=p99)
    return Verdict(f"{what} follows the API within {bound:.0f} s with {services} Services", ok, expected,
                   observed, (), data=data)


def stream_kept(drill: str, loss: StreamLoss, rate: float, promised: bool, tail: float = 10.0) -> Verdict:
    """A constant stream through a change: whole, clean before it, and running on `tail` s after
    the change was done; where Kubernetes promises zero loss (`promised`), not one request lost,
    else the loss is the finding, reported."""
    whole, clean, long_enough = loss.returned == loss.sent, loss.before == 0, loss.tail >= tail
    ok = whole and clean and long_enough and (loss.lost == 0 or not promised)
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(loss.kinds.items())) or "none"
    after = ("never clean again before the stream ended" if loss.clean_after is None
             else f"clean {loss.clean_after:.1f} s after the change")
    observed = f"{loss.lost} of {loss.sent} requests lost ({kinds}); {after}"
    if not clean:
        observed += f"; {loss.before} failed before the change (the stream was not clean)"
    if not whole:
        observed += f"; the run came back short ({loss.returned} of {loss.sent})"
    if not long_enough:
        observed += f"; the stream ended {loss.tail:.1f} s after the change was done (< {tail:.0f} s: the rest unseen)"
    expected = (f"no request lost of {loss.sent} at {rate:.0f}/s (Kubernetes promises it here)" if promised else
                f"a whole stream of {loss.sent} at {rate:.0f}/s, clean before the change (the loss is reported)")
    return Verdict(f"{drill}: requests lost", ok, expected, observed, (), data={
        "drill": drill, "requested": loss.sent, "answered": loss.returned, "lost": loss.lost, "kinds": loss.kinds,
        "clean_after": loss.clean_after, "tail": loss.tail, "promised": promised,
        "finding": "lost" if loss.lost else "none lost"})
