"""svclab.expect.spread: the chi-square and repeats tests against closed forms, and randomness() on
rotations, skewed, sticky and truly random sequences."""

from __future__ import annotations

import math
import random

import pytest
from scipy.stats import binom

from svclab.expect.spread import (
    FALSE_FAILURE,
    RANDOM_SAMPLE,
    chi_square_p,
    count_repeats,
    randomness,
    repeats_p,
)

PODS = ("myapp-a", "myapp-b", "myapp-c")


def cycle(n: int, pods: tuple[str, ...] = PODS) -> list[str]:
    return [pods[i % len(pods)] for i in range(n)]


def draws(seed: int, n: int, weights: tuple[float, ...] = (1, 1, 1)) -> list[str]:
    rng = random.Random(seed)
    return rng.choices(PODS, weights=weights, k=n)


@pytest.mark.parametrize(("counts", "stat"), [((50, 30, 20), 14.0), ((100, 100, 100), 0.0), ((40, 30, 20), 6.6667)])
def test_chi_square_two_degrees_of_freedom_is_exp(counts: tuple[int, ...], stat: float) -> None:
    expected = sum(counts) / 3
    exact = sum((c - expected) ** 2 / expected for c in counts)
    assert exact == pytest.approx(stat, abs=1e-4)
    assert chi_square_p(counts) == pytest.approx(math.exp(-exact / 2), rel=1e-12)


@pytest.mark.parametrize("counts", [(60, 40), (50, 50), (150, 50), (1, 0)])
def test_chi_square_one_degree_of_freedom_is_erfc(counts: tuple[int, int]) -> None:
    expected = sum(counts) / 2
    stat = sum((c - expected) ** 2 / expected for c in counts)
    assert chi_square_p(counts) == pytest.approx(math.erfc(math.sqrt(stat / 2)), rel=1e-12)


@pytest.mark.parametrize("counts", [(), (7,), (0, 0, 0)])
def test_chi_square_without_data_is_one(counts: tuple[int, ...]) -> None:
    assert chi_square_p(counts) == 1.0


def test_repeats_counts_neighbours() -> None:
    assert count_repeats([]) == 0
    assert count_repeats(["a"]) == 0
    assert count_repeats(list("aabbbca")) == 3


def test_repeats_p_is_the_doubled_binomial_tail() -> None:
    n, k = 301, 3
    assert repeats_p(0, n, k) == pytest.approx(2 * (2 / 3) ** 300, rel=1e-9)
    assert repeats_p(130, n, k) == pytest.approx(2 * binom.sf(129, 300, 1 / 3), rel=1e-9)
    assert repeats_p(100, n, k) == 1.0  # the median: both tails above one half
    assert repeats_p(0, 1, 3) == 1.0  # no pair to compare


def test_rotation_fails_on_repeats() -> None:
    result = randomness(cycle(RANDOM_SAMPLE), PODS)
    assert not result.ok
    assert result.repeats == 0
    assert result.expected_repeats == pytest.approx((RANDOM_SAMPLE - 1) / 3)
    assert result.repeats_p < result.alpha_each == FALSE_FAILURE / 2
    assert result.chi_square_p > 0.5  # the counts alone look perfect


def test_skew_50_25_25_fails_on_chi_square() -> None:
    seq = ["myapp-a"] * (RANDOM_SAMPLE // 2) + ["myapp-b", "myapp-c"] * (RANDOM_SAMPLE // 4)
    random.Random(7).shuffle(seq)
    result = randomness(seq, PODS)
    assert not result.ok
    assert result.chi_square_p < 1e-20
    assert result.counts == {"myapp-a": RANDOM_SAMPLE // 2, "myapp-b": RANDOM_SAMPLE // 4,
                             "myapp-c": RANDOM_SAMPLE // 4}


def test_sticky_runs_fail_on_repeats() -> None:
    seq = [pod for pod in draws(3, RANDOM_SAMPLE // 5) for _ in range(5)]
    result = randomness(seq, PODS)
    assert not result.ok
    assert result.repeats > result.expected_repeats * 2
    assert result.repeats_p < result.alpha_each
    assert result.chi_square_p >= result.alpha_each  # the counts are fine; the order is not


def test_uniform_draws_pass() -> None:
    result = randomness(draws(4, RANDOM_SAMPLE), PODS)
    assert result.ok, result.summary()
    assert result.n == RANDOM_SAMPLE
    assert sum(result.counts.values()) == RANDOM_SAMPLE


def test_false_failure_rate_is_near_its_bound() -> None:
    failures = sum(not randomness(draws(seed, 300), PODS).ok for seed in range(200))
    assert failures <= 2  # expected at most 0.2 of 200 at FALSE_FAILURE = 0.001


def test_a_looser_false_failure_rate_fails_more() -> None:
    failures = sum(not randomness(draws(seed, 300), PODS, false_failure=0.2).ok for seed in range(200))
    assert 10 <= failures <= 70  # about 40 expected (each test at 0.1, minus overlap and discreteness)


@pytest.mark.parametrize(("sequence", "pods"), [([], PODS), (["myapp-a"] * 300, ["myapp-a"]), (["a", "b"], [])])
def test_a_check_that_cannot_fail_does_not_pass(sequence: list[str], pods: list[str]) -> None:
    assert not randomness(sequence, pods).ok


def test_a_stranger_pod_fails_and_is_counted() -> None:
    seq = draws(4, RANDOM_SAMPLE)
    seq[100] = "other"
    result = randomness(seq, PODS)
    assert not result.ok
    assert result.counts["other"] == 1
    assert list(result.counts)[:3] == list(PODS)


def test_counts_include_pods_that_never_answered() -> None:
    seq = ["myapp-a", "myapp-b"] * 50
    result = randomness(seq, PODS)
    assert result.counts == {"myapp-a": 50, "myapp-b": 50, "myapp-c": 0}
    assert not result.ok


def test_blind_spot_longer_range_cycle_passes() -> None:
    """Documented in docs/randomness.md: a fixed period-9 cycle with the right counts and the
    right number of neighbour repeats is not rejected."""
    pattern = ["a", "a", "b", "c", "c", "a", "b", "b", "c"]
    result = randomness([pattern[i % 9] for i in range(RANDOM_SAMPLE - RANDOM_SAMPLE % 9)], ["a", "b", "c"])
    assert result.ok, result.summary()


def test_summary_reads_like_the_numbers() -> None:
    result = randomness(draws(1, 300), PODS)
    text = result.summary()
    c = result.counts
    assert text.startswith(f"myapp-a={c['myapp-a']}, myapp-b={c['myapp-b']}, myapp-c={c['myapp-c']}; chi-square p = ")
    assert f"repeats {result.repeats} (expected 99.7), p = " in text
