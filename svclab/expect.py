"""Named expectations: each compares what should happen with what did, and a failed
one prints both side by side with the raw output and the command that reproduces it."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from svclab import evidence
from svclab.probes import Batch
from svclab.result import CommandResult


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
            lines += ["  facts about the Service (the troubleshooting checklist):", facts]
        return "\n".join(lines)


def verify(verdict: Verdict, facts: Callable[[], str] | None = None) -> Verdict:
    """Fail the calling test with the verdict's report unless it holds."""
    __tracebackhide__ = True
    evidence.note(verdict.name, verdict.ok, verdict.expected, verdict.observed,
                  list(verdict.evidence), dict(verdict.data))
    if not verdict.ok:
        raise AssertionError(verdict.report(facts() if facts else ""))
    return verdict


def _table(counts: dict[str, int], pods: Sequence[str]) -> str:
    names = sorted(set(pods) | set(counts))
    return ", ".join(f"{n}={counts.get(n, 0)}" for n in names)


def reaches_all(batch: Batch, pods: Sequence[str], name: str = "reaches every ready pod") -> Verdict:
    """Every request answered, and every ready pod answered at least once."""
    counts = dict(batch.counts())
    failed = batch.failed()
    missing = [p for p in pods if p not in counts]
    strangers = [n for n in counts if n not in pods]
    ok = not failed and not missing and not strangers
    return Verdict(
        name, ok,
        f"{len(batch.answers)} answers from exactly {sorted(pods)}",
        f"{_table(counts, pods)}; failures: {len(failed)}"
        + (f" (curl exits {sorted({a.exitcode for a in failed})})" if failed else ""),
        (batch.command,), data={"counts": counts, "pods": list(pods), "failures": len(failed)},
    )


def one_pod(batch: Batch, name: str = "one client stays on one pod") -> Verdict:
    """Every answer from the same pod, none failed (session affinity ClientIP; the IPVS
    schedulers that hash or prefer the first idle server)."""
    counts = dict(batch.counts())
    ok = len(counts) == 1 and not batch.failed()
    return Verdict(name, ok,
                   f"all {len(batch.answers)} answers from a single pod",
                   f"{_table(counts, list(counts))}; failures: {len(batch.failed())}", (batch.command,),
                   data={"counts": counts, "failures": len(batch.failed())})


def round_robin(batch: Batch, pods: Sequence[str]) -> Verdict:
    """IPVS rr from one client: counts differ by at most one and every window of
    len(pods) consecutive answers names each pod once (the cycle order is free)."""
    seq = batch.sequence()
    counts = dict(batch.counts())
    spread = max(counts.values(), default=0) - min((counts.get(p, 0) for p in pods), default=0)
    n = len(pods)
    broken = [i for i in range(len(seq) - n + 1) if sorted(seq[i:i + n]) != sorted(pods)]
    ok = spread <= 1 and not broken and not batch.failed()
    where = f"; first broken window at request {broken[0]}: {seq[broken[0]:broken[0] + n]}" if broken else ""
    return Verdict("rr cycles through the pods", ok,
                   f"per-pod counts within 1 and each run of {n} answers names all {n} pods",
                   f"{_table(counts, pods)}{where}", (batch.command,),
                   data={"counts": counts, "pods": list(pods), "sequence": seq[:60]})


def chi_square_p(counts: Sequence[int]) -> float:
    """p-value of Pearson's goodness-of-fit test against equal shares."""
    total, k = sum(counts), len(counts)
    if k < 2 or total == 0:
        return 1.0
    exp = total / k
    stat = sum((c - exp) ** 2 / exp for c in counts)
    return _chi2_sf(stat, k - 1)


def _chi2_sf(x: float, dof: int) -> float:
    """Survival function of chi-square: the regularized upper incomplete gamma Q(dof/2, x/2),
    by its series below a+1 and its continued fraction above (both converge fast there)."""
    a, z = dof / 2.0, x / 2.0
    if z <= 0:
        return 1.0
    log_front = -z + a * math.log(z) - math.lgamma(a)
    if z < a + 1:
        term = total = 1.0 / a
        for i in range(1, 1000):
            term *= z / (a + i)
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    tiny = 1e-300  # modified Lentz's method for the continued fraction of Q
    b = z + 1.0 - a
    c, d = 1.0 / tiny, 1.0 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return math.exp(log_front) * h


RANDOM_ALPHA = 0.001


def uniform_random(batch: Batch, pods: Sequence[str], alpha: float = RANDOM_ALPHA) -> Verdict:
    """iptables/nftables pick a backend at random: every pod answers and the counts pass
    a chi-square goodness-of-fit test against equal shares at significance `alpha`."""
    counts = dict(batch.counts())
    p = chi_square_p([counts.get(pod, 0) for pod in pods])
    ok = p >= alpha and not batch.failed() and all(counts.get(pod) for pod in pods)
    return Verdict("random spread over the pods", ok,
                   f"all {len(pods)} pods answer, chi-square p >= {alpha}",
                   f"{_table(counts, pods)}; p = {p:.4f}", (batch.command,),
                   data={"counts": counts, "pods": list(pods), "p": p, "alpha": alpha})


def dns_answer(result: CommandResult, name: str, want: set[str], rtype: str = "A") -> Verdict:
    """The DNS answer for `name` is exactly `want` (addresses, or CNAME targets), with authority."""
    from svclab.parsers import parse_dig

    try:
        dig = parse_dig(result.stdout)
    except ValueError as exc:
        return Verdict(f"DNS {rtype} {name}", False, f"answer {sorted(want)}", f"unreadable dig output: {exc}",
                       (result,))
    got = set(dig.cnames()) if rtype == "CNAME" else set(dig.addresses())
    ok = dig.status == "NOERROR" and got == want and "aa" in dig.flags
    return Verdict(f"DNS {rtype} {name}", ok, f"NOERROR, authoritative, {sorted(want)}",
                   f"{dig.status}, flags {' '.join(sorted(dig.flags))}, {sorted(got)} from {dig.server}",
                   (result,), data={"answers": [f"{r.name} {r.ttl} {r.rtype} {r.data}" for r in dig.answers]})


def holds(name: str, ok: bool, expected: str, observed: str, *results: CommandResult) -> Verdict:
    """A plain named check with its raw outputs, for facts no other expectation covers."""
    return Verdict(name, ok, expected, observed, tuple(results))


def ipvs_virtual_server(dumps: dict[str, CommandResult], address: str, port: int, scheduler: str,
                        real_servers: list[str] | None = None) -> Verdict:
    """`ipvsadm -Ln` on every node lists address:port with the scheduler (and, when given,
    exactly these real servers)."""
    from svclab.parsers import find_virtual, parse_ipvsadm

    seen = {}
    for node, dump in dumps.items():
        vs = find_virtual(parse_ipvsadm(dump.stdout), address, port) if dump.ok else None
        seen[node] = (vs.scheduler, sorted(r.address for r in vs.real_servers)) if vs else None
    want = sorted(real_servers) if real_servers is not None else None
    ok = all(v is not None and v[0] == scheduler and (want is None or v[1] == want) for v in seen.values())
    return Verdict(f"IPVS virtual server {address}:{port}", ok,
                   f"on every node, scheduler {scheduler}" + (f", real servers {want}" if want is not None else ""),
                   "; ".join(f"{n}: {v}" for n, v in seen.items()), tuple(dumps.values()))
