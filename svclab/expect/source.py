"""Named expectations on what the server saw and how a refusal looked: the client's source
address as the pod reports it, and connections refused at once rather than left to time out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from svclab.expect.verdict import Verdict
from svclab.observe.probes import Batch

PROMPT = 0.1  # s: a refusal answered by the first SYN; a later one waited for a retransmission


def peer_host(body: str) -> str:
    """The address part of myapp's "/clientip" answer ("10.244.1.5:40312", "[fd00::5]:40312")."""
    host = body.strip().rsplit(":", 1)[0]
    return host.strip("[]")


def source_seen(batch: Batch, want: Iterable[str], name: str = "the pod sees the client's own address") -> Verdict:
    """Every request asked for answered 200, and every answer names a source in `want`."""
    wanted = sorted(set(want))
    seen = Counter(peer_host(a.body) for a in batch.ok())
    ok = batch.short() is None and not batch.failed() and bool(seen) and set(seen) <= set(wanted)
    short = batch.short()
    observed = (", ".join(f"{ip} x{n}" for ip, n in sorted(seen.items())) or "no answer")
    observed += f"; failures: {batch.failures()}" + (f"; {short}" if short else "")
    return Verdict(name, ok, f"{batch.requested} answers, each from source {' or '.join(wanted)}", observed,
                   (batch.command,), data={"sources": dict(seen), "want": wanted, "requested": batch.requested,
                                           "answered": len(batch.answers), "failures": len(batch.failed())})


def rejected(batch: Batch, within: float, name: str = "the connection is refused at once") -> Verdict:
    """Every request asked for refused (curl exit 7, a TCP reset or an ICMP reject), each in at
    most `within` seconds: an active refusal, not a drop that the client only sees as a time-out."""
    kinds = Counter("refused" if a.exitcode == 7 else f"curl exit {a.exitcode}" if a.exitcode else f"HTTP {a.http_code}"
                    for a in batch.answers)
    slowest = max((a.seconds for a in batch.answers), default=0.0)
    ok = batch.short() is None and kinds.get("refused", 0) == batch.requested and slowest <= within
    short = batch.short()
    observed = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) or "nothing"
    prompt = sum(1 for a in batch.answers if a.exitcode == 7 and a.seconds < PROMPT)
    observed += (f"; {prompt} at once (< {PROMPT:g} s), slowest {slowest:.3f} s" + (f"; {short}" if short else ""))
    return Verdict(name, ok, f"{batch.requested} requests, every one refused (curl exit 7) within {within:g} s",
                   observed, (batch.command,),
                   data={"kinds": dict(kinds), "slowest": slowest, "at_once": prompt, "requested": batch.requested,
                         "answered": len(batch.answers)})
