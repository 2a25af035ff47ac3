"""Named expectations on batches of requests. Each knows what was asked: a batch that came
back short (the exec died, or was cut at its time budget) fails every one of them, and the
expected text is written from the request, never from what came back."""

from __future__ import annotations

import math
from collections.abc import Sequence

from svclab.expect.verdict import Verdict
from svclab.observe.probes import Batch

FALSE_PASS = 0.001  # the most a wrong behaviour may pass by luck, where a check is statistical


def _table(counts: dict[str, int], pods: Sequence[str]) -> str:
    names = sorted(set(pods) | set(counts))
    return ", ".join(f"{n}={counts.get(n, 0)}" for n in names)


def _observed(batch: Batch, counts: dict[str, int], pods: Sequence[str]) -> str:
    short = batch.short()
    return (f"{_table(counts, pods)}; failures: {batch.failures()}" + (f"; {short}" if short else ""))


def batch_data(batch: Batch, counts: dict[str, int], pods: Sequence[str], **more: object) -> dict[str, object]:
    """What a traffic verdict records of its sample: counts, size, and curl's exit codes of the failures."""
    kinds: dict[str, int] = {}
    for a in batch.failed():
        kinds[str(a.exitcode)] = kinds.get(str(a.exitcode), 0) + 1
    return {"counts": counts, "pods": list(pods), "requested": batch.requested, "answered": len(batch.answers),
            "failures": len(batch.failed()), "curl_exits": kinds, **more}


def reaches_all(batch: Batch, pods: Sequence[str], name: str = "reaches every ready pod") -> Verdict:
    """Every request asked for answered with 200, and every pod of `pods` (and no other) among them."""
    counts = dict(batch.counts())
    missing = [p for p in pods if p not in counts]
    strangers = [n for n in counts if n not in pods]
    ok = bool(pods) and batch.short() is None and not batch.failed() and not missing and not strangers
    k = len(pods)
    miss = k * ((k - 1) / k) ** batch.requested if k else 1.0
    return Verdict(
        name, ok, f"all {batch.requested} requests answered 200 by exactly {sorted(pods)}, each at least once",
        _observed(batch, counts, pods), (batch.command,),
        notes=(f"even random choice misses a pod of {k} in {batch.requested} requests with probability "
               f"{miss:.1g}",) if miss > FALSE_PASS else (),
        data=batch_data(batch, counts, pods))


def one_pod_minimum(k: int) -> int:
    """Requests needed so that random choice over k pods lands them all on one pod with
    probability at most FALSE_PASS: k * (1/k)^n <= FALSE_PASS."""
    return 1 + math.ceil(math.log(1 / FALSE_PASS) / math.log(k)) if k > 1 else 1


def one_pod(batch: Batch, pods: Sequence[str], name: str = "one client stays on one pod") -> Verdict:
    """Every answer from the same pod of `pods`, none failed, the sample whole and large enough
    that random choice would not pass (session affinity ClientIP; IPVS's hashing schedulers)."""
    counts = dict(batch.counts())
    need = one_pod_minimum(len(pods))
    big_enough = batch.requested >= need
    ok = (big_enough and batch.short() is None and not batch.failed() and len(counts) == 1
          and set(counts) <= set(pods))
    chance = len(pods) * (1 / len(pods)) ** batch.requested if pods else 1.0
    return Verdict(
        name, ok, f"all {batch.requested} requests answered by a single one of {sorted(pods)} "
        f"(random choice would do that with probability {chance:.1g})",
        _observed(batch, counts, pods) + ("" if big_enough else f"; a sample under {need} requests proves nothing"),
        (batch.command,), data=batch_data(batch, counts, pods, pods_answering=len(counts)))


def several_pods(batch: Batch, pods: Sequence[str], name: str = "the client is not kept on one pod") -> Verdict:
    """Answers from at least two of `pods`, none failed, from a sample large enough that random
    choice would land on one pod only with probability at most FALSE_PASS: an affinity that has
    expired (one pod would mean it had not)."""
    counts = dict(batch.counts())
    need = one_pod_minimum(len(pods))
    big_enough = batch.requested >= need
    ok = big_enough and batch.short() is None and not batch.failed() and len(counts) >= 2 and set(counts) <= set(pods)
    return Verdict(name, ok, f"all {batch.requested} requests answered, by at least two of {sorted(pods)}",
                   _observed(batch, counts, pods) + ("" if big_enough else f"; a sample under {need} proves nothing"),
                   (batch.command,), data=batch_data(batch, counts, pods, pods_answering=len(counts)))


def round_robin(batch: Batch, pods: Sequence[str]) -> Verdict:
    """IPVS rr from one client: counts differ by at most one and every window of len(pods)
    consecutive answers names each pod once (the cycle order is free). At least two full
    cycles are needed: a shorter sample cannot tell a cycle from chance."""
    seq = batch.sequence()
    counts = dict(batch.counts())
    n = len(pods)
    spread = max(counts.values(), default=0) - min((counts.get(p, 0) for p in pods), default=0)
    broken = [i for i in range(len(seq) - n + 1) if sorted(seq[i:i + n]) != sorted(pods)]
    big_enough = n > 1 and batch.requested >= 2 * n
    ok = big_enough and batch.short() is None and spread <= 1 and not broken and not batch.failed()
    where = f"; first broken window at request {broken[0]}: {seq[broken[0]:broken[0] + n]}" if broken else ""
    small = "" if big_enough else f"; {batch.requested} requests are fewer than two cycles of {n}"
    return Verdict("rr cycles through the pods", ok,
                   f"{batch.requested} answers, per-pod counts within 1 and each run of {n} answers naming all "
                   f"{n} pods", f"{_observed(batch, counts, pods)}{where}{small}", (batch.command,),
                   data=batch_data(batch, counts, pods, sequence=seq[:60]))


def refused_share(batch: Batch, serving: Sequence[str], refusing: Sequence[str],
                  name: str = "the pods that do not listen refuse their share") -> Verdict:
    """Every answer is a 200 from `serving` or a refusal (curl exit 7), both seen, and the
    refused share fits len(refusing) of all pods: a two-sided binomial test at FALSE_PASS
    (IPVS rr gives the exact share, random choice a binomial one)."""
    from scipy.stats import binomtest

    counts = dict(batch.counts())
    refused = sum(1 for a in batch.failed() if a.exitcode == 7)
    other = len(batch.failed()) - refused
    share = len(refusing) / (len(serving) + len(refusing)) if serving or refusing else 0.0
    n = len(batch.answers)
    p = float(binomtest(refused, n, share).pvalue) if n and 0 < share < 1 else 0.0
    ok = (batch.short() is None and other == 0 and refused > 0 and set(counts) == set(serving) and p >= FALSE_PASS)
    return Verdict(name, ok,
                   f"{batch.requested} requests: 200s from exactly {sorted(serving)}, the rest refused (curl exit 7), "
                   f"about {share:.0%} refused (binomial p >= {FALSE_PASS})",
                   f"{_observed(batch, counts, serving)}; refused {refused} of {n} ({refused / n if n else 0:.0%}), "
                   f"p = {p:.3g}", (batch.command,), data=batch_data(batch, counts, serving, refused=refused, p=p))


def answered(batch: Batch, full: bool = True) -> Verdict:
    """The Service answers: every request (full) or at least one (a Service whose pods refuse
    part of the connections on purpose). Used while waiting for kube-proxy to program it."""
    counts = dict(batch.counts())
    ok = batch.short() is None and (not batch.failed() if full else bool(batch.ok()))
    return Verdict(f"{batch.url} answers", ok,
                   f"{'all' if full else 'at least one of'} {batch.requested} requests answered 200",
                   _observed(batch, counts, list(counts)), (batch.command,),
                   data=batch_data(batch, counts, list(counts)))


def unanswered(batch: Batch) -> Verdict:
    """No request of a whole batch answered at all (the Service, or its path, is gone): each one
    refused or timed out; not even an HTTP error (a pod was reached), nor a reset."""
    reached = [a for a in batch.answers if a.exitcode == 0]
    odd = sorted({a.exitcode for a in batch.answers} - {0, 7, 28})  # a reset or a bad URL is not "no answer"
    return Verdict(f"{batch.url} no longer answers", batch.short() is None and not reached and not odd,
                   f"none of {batch.requested} requests answered: each refused or timed out",
                   f"answered {len(reached)}; failures: {batch.failures()}"
                   + (f"; not a refusal or a time-out: exit {odd}" if odd else "")
                   + (f"; {batch.short()}" if batch.short() else ""),
                   (batch.command,), data=batch_data(batch, dict(batch.counts()), []))
