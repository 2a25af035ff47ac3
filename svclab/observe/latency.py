"""When a Service address started to answer, or an endpoint stopped answering, on the client's
own clock: one exec of `date; curl ...; date`, curl making a paced run of transfers (its URL
glob and --rate), so the client forks twice, not once per attempt (fork/exec is 8-40x slower
in the IPVS VM under emulation).

curl 7.88 (the probe's, Debian bookworm) writes no absolute time per transfer; each transfer's
start is rebuilt from the first `date` and curl's --rate rule (a transfer starts `1/rate` s after
the previous one started, or when it ended if it took longer), and the drift against the last
`date` is spread evenly over the run. A probe returns what happened; it never asserts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from svclab.core.result import CommandResult
from svclab.core.shell import Shell
from svclab.observe.probes import MARK, MAX_REQUESTS, WRITE_OUT, Batch, exit_name, parse_batch

CONNECT_TIMEOUT = 0.2  # s: a SYN the data plane does not forward yet fails this fast
MAX_TIME = 1.0  # s: per transfer


def timed_argv(url: str, count: int, per_second: float, marker: str = "svclab-timed") -> list[str]:
    """`count` GETs paced at `per_second`, between two readings of the client's clock; `marker`
    names the shell ($0), so that `pgrep -f marker` on the client's node sees the run under way."""
    if not 1 <= count <= MAX_REQUESTS or per_second <= 0:
        raise ValueError(f"a timed run is 1 to {MAX_REQUESTS} requests at a positive rate, not {count} at {per_second}")
    sep = "&" if "?" in url else "?"
    curl = (f"curl -s -H 'Connection: close' --connect-timeout {CONNECT_TIMEOUT} --max-time {MAX_TIME} "
            f"--rate {round(per_second * 60)}/m -w '\\n{MARK}{WRITE_OUT}\\n' '{url}{sep}n=[1-{count}]'")
    return ["sh", "-c", f"date +%s.%N; {curl}; rc=$?; echo; date +%s.%N; exit $rc", marker]


@dataclass(frozen=True)
class TimedBatch:
    batch: Batch
    starts: tuple[float, ...]  # each transfer's start, client clock (s since the epoch)
    drift: float  # s: the last `date` minus the rebuilt end of the run

    def answered_at(self, i: int) -> float:
        return self.starts[i] + self.batch.answers[i].seconds

    def first_answer(self) -> float | None:
        """When the first transfer that got an HTTP answer ended (client clock)."""
        return next((self.answered_at(i) for i, a in enumerate(self.batch.answers) if a.ok), None)

    def last_from(self, body: str) -> float | None:
        """When the last answer from `body` (a pod's hostname) ended (client clock)."""
        times = [self.answered_at(i) for i, a in enumerate(self.batch.answers) if a.ok and a.body == body]
        return max(times) if times else None


def parse_timed(url: str, result: CommandResult, requested: int, per_second: float) -> TimedBatch:
    lines = result.stdout.strip().splitlines()
    try:
        first, last = float(lines[0]), float(lines[-1])
    except (IndexError, ValueError):
        return TimedBatch(parse_batch(url, result, requested), (), 0.0)
    inner = replace(result, stdout="\n".join(lines[1:-1]))
    batch = parse_batch(url, inner, requested)
    starts, at = [], first
    for answer in batch.answers:
        starts.append(at)
        at += max(1 / per_second, answer.seconds)
    # the run ends when its last transfer does (no pause after it)
    drift = last - (starts[-1] + batch.answers[-1].seconds) if starts else 0.0
    spread = drift / len(starts) if starts and drift > 0 else 0.0  # curl's own overhead, per transfer
    return TimedBatch(batch, tuple(s + i * spread for i, s in enumerate(starts)), drift)


def timed_batch(shell: Shell, url: str, count: int, per_second: float, marker: str = "svclab-timed") -> TimedBatch:
    budget = count * max(1 / per_second, MAX_TIME) + 30
    return parse_timed(url, shell.run(timed_argv(url, count, per_second, marker), timeout=budget), count, per_second)


@dataclass(frozen=True)
class ClockOffset:
    """A node's clock minus this host's, from the reading with the shortest round trip."""

    seconds: float
    uncertainty: float  # half that round trip


def clock_offset(readings: list[tuple[float, float, float]]) -> ClockOffset:
    """(host before, node, host after) readings -> the offset of the tightest one."""
    before, node, after = min(readings, key=lambda r: r[2] - r[0])
    return ClockOffset(node - (before + after) / 2, (after - before) / 2)



@dataclass(frozen=True)
class StreamLoss:
    """What a constant stream of requests lost to a change made while it ran."""

    sent: int  # requests the run asked for
    returned: int  # transfers curl reported (fewer: the run was cut)
    before: int  # failures before the change (a stream that was not clean shows nothing)
    lost: int  # failures from the change on
    kinds: dict[str, int]  # lost requests by kind: refused, reset, timed out, HTTP 503 ...
    clean_after: float | None  # s from the change to the end of its last failure; None: still failing at the end
    tail: float  # s the stream ran on after the change was done (too short: what came after is unseen)


def stream_loss(run: TimedBatch, change_at: float, change_done: float | None = None) -> StreamLoss:
    """`change_at` and `change_done` (default: the same) on the client's clock."""
    answers = run.batch.answers
    failed = [i for i, a in enumerate(answers) if not a.ok]
    before = [i for i in failed if run.starts[i] < change_at] if run.starts else failed
    after = [i for i in failed if i not in before]
    kinds = Counter(exit_name(answers[i].exitcode) if answers[i].exitcode else f"HTTP {answers[i].http_code}"
                    for i in after)
    if not after:
        clean: float | None = 0.0
    elif after[-1] == len(answers) - 1:
        clean = None
    else:
        clean = max(0.0, run.answered_at(after[-1]) - change_at)
    end = run.answered_at(len(answers) - 1) if answers and run.starts else change_at
    tail = end - (change_at if change_done is None else change_done)
    return StreamLoss(run.batch.requested, len(answers), len(before), len(after), dict(kinds), clean, tail)
