"""A verdict compares what should happen with what did. A failed one prints both side by
side, with the raw output and the command that reproduces it, and the troubleshooting facts.

`verify` fails the test on one verdict; `verify_all` records every verdict of a loop (one
per node, say) before it fails, so that the report shows each of them; `settle` is a wait
whose giving up is a verdict like any other.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from svclab.core.errors import WaitTimeout
from svclab.core.result import CommandResult
from svclab.core.wait import wait_for
from svclab.expect import evidence

Facts = Callable[[], str]


@dataclass(frozen=True)
class Verdict:
    name: str
    ok: bool
    expected: str
    observed: str
    evidence: tuple[CommandResult, ...] = ()
    notes: tuple[str, ...] = field(default=())
    data: dict[str, object] = field(default_factory=dict)  # e.g. per-pod counts, for the report

    def report(self, facts: str = "") -> str:
        lines = [f"{self.name}: {'holds' if self.ok else 'does NOT hold'}",
                 f"  expected: {self.expected}", f"  observed: {self.observed}"]
        lines += [f"  note: {n}" for n in self.notes]
        for result in self.evidence:
            lines += ["  raw output and the command that reproduces it:", result.describe(tail=40)]
        if facts:
            lines += ["  facts (the troubleshooting checklist):", facts]
        return "\n".join(lines)

    def noted(self, note: str) -> Verdict:
        return replace(self, notes=(*self.notes, note))


class VerdictFailed(AssertionError):
    """A verdict did not hold. The plugin reports it as a failed test even when it was raised
    while a fixture set the test up (a lab that breaks before the check is a finding)."""

    def __init__(self, verdicts: Sequence[Verdict], text: str) -> None:
        super().__init__(text)
        self.verdicts = tuple(verdicts)


def record(verdict: Verdict) -> Verdict:
    evidence.note(verdict.name, verdict.ok, verdict.expected, verdict.observed,
                  list(verdict.evidence), dict(verdict.data), verdict.notes)
    return verdict


def verify(verdict: Verdict, facts: Facts | None = None) -> Verdict:
    """Record the verdict; fail the calling test with its report unless it holds."""
    __tracebackhide__ = True
    return verify_all([verdict], facts)[0]


def verify_all(verdicts: Sequence[Verdict], facts: Facts | None = None) -> list[Verdict]:
    """Record every verdict, then fail with the report of each one that does not hold."""
    __tracebackhide__ = True
    for v in verdicts:
        record(v)
    bad = [v for v in verdicts if not v.ok]
    if not verdicts:
        raise VerdictFailed([], "no verdict was made: a check over nothing cannot pass")
    if bad:
        text = "\n".join(v.report() for v in bad)
        if facts:
            text += "\n  facts (the troubleshooting checklist):\n" + facts()
        raise VerdictFailed(bad, text)
    return list(verdicts)


def holds(name: str, ok: bool, expected: str, observed: str, *results: CommandResult) -> Verdict:
    """A plain named check with its raw outputs, for facts no other expectation covers."""
    return Verdict(name, ok, expected, observed, tuple(results))


def settle(observe: Callable[[], Verdict], *, timeout: float, interval: float = 0.5) -> tuple[Verdict, float]:
    """Observe until the verdict holds; return it with the seconds it took. When time runs out,
    the last observation is the verdict (`verify` it: the test fails with what was seen)."""
    start = time.monotonic()
    last: list[Verdict] = []

    def attempt() -> Verdict | None:
        last[:] = [observe()]
        return last[0] if last[0].ok else None

    try:
        return wait_for(attempt, what="", timeout=timeout, interval=interval), time.monotonic() - start
    except WaitTimeout:  # the last observation says what was seen
        return last[0].noted(f"still not so after waiting {timeout:.0f} s"), time.monotonic() - start


def refuted(verdict: Verdict, cause: str) -> Verdict:
    """A negative control: the same check, made after the real cause was broken on the lab,
    must fail. The verdict is recorded (the report shows it failing as intended); if it held,
    the check cannot see that cause, and the test fails saying so."""
    __tracebackhide__ = True
    record(replace(verdict, data={**verdict.data, "control": cause}))
    if verdict.ok:
        raise VerdictFailed([verdict], f"negative control: with {cause}, the check still held, so it cannot "
                                       f"see that cause.\n{verdict.report()}")
    asked, got = verdict.data.get("requested"), verdict.data.get("answered")
    if asked is not None and got != asked:  # a cut sample fails any check: it shows nothing of the cause
        raise VerdictFailed([verdict], f"negative control: with {cause}, the sample came back short ({got} of "
                                       f"{asked}), so its failure proves nothing.\n{verdict.report()}")
    return verdict
