"""Random choice (kube-proxy's iptables and nftables modes): the statistics are in
svclab.expect.spread; this turns them into a verdict on a whole, failure-free sample."""

from __future__ import annotations

from collections.abc import Sequence

from svclab.expect.spread import FALSE_FAILURE, RANDOM_SAMPLE, randomness
from svclab.expect.traffic import _observed, batch_data
from svclab.expect.verdict import Verdict
from svclab.observe.probes import Batch


def random_choice(batch: Batch, pods: Sequence[str], false_failure: float = FALSE_FAILURE) -> Verdict:
    """Each request goes to a pod chosen at random: every request answered, the per-pod counts
    pass a chi-square test against equal shares (rejects skew) and the number of consecutive
    repeats fits independent draws (rejects rotation and stickiness); docs/randomness.md gives
    the power of both at RANDOM_SAMPLE requests."""
    found = randomness([a.body for a in batch.ok()], pods, false_failure)
    whole = batch.short() is None and not batch.failed()
    small = batch.requested < RANDOM_SAMPLE
    note = (f"{batch.requested} requests are fewer than the {RANDOM_SAMPLE} that docs/randomness.md sizes for "
            "power 0.99: too small a sample to call random",) if small else ()
    return Verdict(
        "random choice over the pods", found.ok and whole and not small,
        f"all {batch.requested} requests answered; chi-square p and repeats p each >= {found.alpha_each:g} "
        f"(false-failure rate {false_failure:g})",
        f"{found.summary()}; {_observed(batch, found.counts, pods).split('; ', 1)[1]}", (batch.command,),
        notes=note, data=batch_data(batch, found.counts, pods, p=found.chi_square_p, repeats=found.repeats,
                               expected_repeats=round(found.expected_repeats, 1), repeats_p=found.repeats_p))
