"""Is a sequence of answering pods consistent with independent uniform draws?

kube-proxy's iptables and nftables modes pick a backend for each new connection uniformly at
random, independently of earlier picks. Two tests check that, each on its own failure mode:

- Pearson's chi-square on the per-pod counts rejects skew (some pod gets more than its share);
- a serial test on consecutive repeats rejects order: too few repeats (a rotation a-b-c-a-b-c,
  as IPVS rr does, has none) or too many (sticky: the same pod several times in a row).

Pure functions, no I/O. The power of the combined check is measured by bench/power.py and
recorded in docs/randomness.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from scipy.stats import binom, chi2

# The probability that a truly random lab fails the check (both tests together).
FALSE_FAILURE = 0.001

# Requests a suite sends for the randomness check: the smallest multiple of 100 with power
# >= 0.99 against each of a rotation, shares 1/3-2/9-4/9 and shares 40/30/30 for 3 pods, at
# FALSE_FAILURE (bench/power.py, docs/randomness.md). Power at 2000: rotation 1 (exact: 0 repeats),
# 1/3-2/9-4/9 1.0000, 40/30/30 0.9926 +- 0.0006 (Monte Carlo, 20000 trials; the chi-square test
# alone, exactly: 0.9926). At 1900, 40/30/30 gets 0.9901 +- 0.0007 and 0.9887 exactly: not assured.
RANDOM_SAMPLE = 2000


def chi_square_p(counts: Sequence[int]) -> float:
    """p-value of Pearson's goodness-of-fit test against equal shares
    (1.0 when there are fewer than 2 categories or no observations)."""
    total, k = sum(counts), len(counts)
    if k < 2 or total == 0:
        return 1.0
    expected = total / k
    stat = sum((c - expected) ** 2 / expected for c in counts)
    return float(chi2.sf(stat, k - 1))


def count_repeats(sequence: Sequence[str]) -> int:
    """How many i have sequence[i] == sequence[i + 1]."""
    return sum(1 for a, b in pairwise(sequence) if a == b)


def repeats_p(repeats: int, n: int, k: int) -> float:
    """Two-sided p-value of `repeats` consecutive repeats in a sequence of n draws over k pods.

    Under independent uniform draws, the repeat indicator I_i = [X_{i+1} == X_i] is independent
    of X_1..X_i (whatever X_i is, X_{i+1} equals it with probability exactly 1/k), hence of
    I_1..I_{i-1}, which are functions of X_1..X_i. So R = sum(I_i) ~ Binomial(n - 1, 1/k)
    exactly, with no asymptotics. (Only under uniform shares: with unequal shares the
    indicators are dependent.) The p-value is the doubled smaller tail, capped at 1: small
    when there are too few repeats (rotation-like) or too many (sticky).
    """
    trials = n - 1
    if trials < 1 or k < 2:
        return 1.0
    share = 1.0 / k
    low = float(binom.cdf(repeats, trials, share))  # P(R <= repeats)
    high = float(binom.sf(repeats - 1, trials, share))  # P(R >= repeats)
    return min(1.0, 2.0 * min(low, high))


def _p(p: float) -> str:
    return f"{p:.2g}"


@dataclass(frozen=True)
class RandomnessResult:
    counts: dict[str, int]  # every expected pod (0 included), then any stranger under its own name
    n: int  # answers in the sequence
    chi_square_p: float
    repeats: int
    expected_repeats: float
    repeats_p: float
    alpha_each: float  # each test fails below this p-value (false_failure / 2)
    ok: bool

    def summary(self) -> str:
        table = ", ".join(f"{pod}={count}" for pod, count in self.counts.items())
        return (f"{table}; chi-square p = {_p(self.chi_square_p)}; repeats {self.repeats} "
                f"(expected {self.expected_repeats:.1f}), p = {_p(self.repeats_p)}")


def randomness(sequence: Sequence[str], pods: Sequence[str],
               false_failure: float = FALSE_FAILURE) -> RandomnessResult:
    """Check that `sequence` (the pod that answered each request, in order) looks like
    independent uniform draws over `pods`.

    ok only if the chi-square p-value of the counts and the repeats p-value are both at least
    false_failure / 2. By Bonferroni, a truly random lab fails the combined check with
    probability at most `false_failure` (the repeats test is exact; the chi-square p-value is
    its usual large-sample approximation).

    Not ok, whatever the p-values: an answer that is not one of `pods` (counted under its own
    name), an empty sequence, or fewer than 2 pods (a check that cannot fail must not pass).
    The chi-square test uses the counts of `pods` only; the repeats test takes k = len(pods).
    """
    expected_pods = list(dict.fromkeys(pods))
    k, n = len(expected_pods), len(sequence)
    counts = dict.fromkeys(expected_pods, 0)
    for answer in sequence:
        counts[answer] = counts.get(answer, 0) + 1
    strangers = len(counts) > k
    chi_p = chi_square_p([counts[pod] for pod in expected_pods])
    repeats = count_repeats(sequence)
    rep_p = repeats_p(repeats, n, k)
    alpha_each = false_failure / 2
    ok = n > 0 and k >= 2 and not strangers and chi_p >= alpha_each and rep_p >= alpha_each
    return RandomnessResult(
        counts=counts, n=n, chi_square_p=chi_p, repeats=repeats,
        expected_repeats=(n - 1) / k if n > 0 and k > 0 else 0.0,
        repeats_p=rep_p, alpha_each=alpha_each, ok=ok,
    )
