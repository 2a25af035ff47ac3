"""Named expectation on one UDP flow (one socket, so one conntrack entry): after the pod that
answered it was replaced, the flow's answers come from another pod, soon.

A UDP flow has no connection to end: while the client keeps sending, its conntrack entry never
times out, so unless kube-proxy deletes the entry it stays pinned to the gone pod's address.
"""

from __future__ import annotations

from itertools import groupby

from svclab.core.result import CommandResult
from svclab.expect.verdict import Verdict
from svclab.observe.conntrack import FlowEntry
from svclab.observe.probes import Batch, exit_name


def runs(batch: Batch) -> str:
    """The flow's answers in order, runs collapsed: "udp-a x12, timed out x3, udp-b x5"."""
    names = [a.body if a.ok else exit_name(a.exitcode).split("(")[-1].rstrip(")") for a in batch.answers]
    return ", ".join(f"{name} x{len(list(group))}" for name, group in groupby(names)) or "no datagram"


def flow_moved(batch: Batch, moved: int, within: float, gone: str,
               name: str = "the UDP flow moves to another pod") -> Verdict:
    """The flow was first answered by `gone` (the pod then deleted), ended by its own rule (`moved`
    answers from another pod), not cut; its first answer from the other pod came at most `within`
    s after gone's last, and gone answered nothing after that."""
    ok_answers = [a for a in batch.answers if a.ok]
    first = ok_answers[0].body if ok_answers else None
    others = [a for a in ok_answers if a.body != first]
    before = [a for a in ok_answers if a.body == first and (not others or a.at <= others[0].at)]
    gap = others[0].at - before[-1].at if others and before else None
    whole = batch.command.rc == 0
    late = [a for a in ok_answers if a.body == gone and others and a.at > others[0].at]
    ok = (whole and first == gone and len(others) >= moved and gap is not None and gap <= within and not late)
    observed = f"{runs(batch)}; " + (f"moved to {others[0].body} {gap:.2f} s after {first}'s last answer"
                                     if gap is not None else "never answered by another pod")
    if not whole:
        observed += f"; the probe ended with exit code {batch.command.rc}"
    if late:
        observed += f"; {gone} answered {len(late)} more after the move"
    return Verdict(name, ok,
                   f"answered by {gone}, then by another pod within {within:g} s ({moved} answers from it)",
                   observed, (batch.command,),
                   data={"first": first, "moved_to": others[0].body if others else None, "gap": gap, "whole": whole,
                         "sent": len(batch.answers), "limit": batch.requested, "runs": runs(batch)})


def flow_pinned(read: CommandResult, entries: list[FlowEntry], name: str = "the flow has one conntrack entry"
                ) -> Verdict:
    """The node holds exactly one entry for the flow; its reply side names the backend."""
    backends = sorted({e.backend for e in entries})
    return Verdict(name, read.ok and len(entries) == 1, "one entry, NATed to one pod",
                   f"{len(entries)} entries: " + ("; ".join(e.line for e in entries) or "none"), (read,),
                   data={"backend": backends[0] if len(backends) == 1 else None, "backends": backends})
