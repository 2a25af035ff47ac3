"""svclab.expect: the chi-square test against closed forms, and each named expectation on
batches parsed from curl output text."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from svclab.expect import RANDOM_ALPHA, Verdict, chi_square_p, reaches_all, round_robin, uniform_random, verify
from svclab.probes import MARK, Batch, curl_argv, parse_batch
from svclab.result import CommandResult

URL = "http://10.96.100.1/"
PODS = ("myapp-a", "myapp-b", "myapp-c")


def batch(answers: Sequence[str | int]) -> Batch:
    """A batch as curl would print it: a pod name answers 200, an int is a failed curl exit code."""
    lines: list[str] = []
    for answer in answers:
        if isinstance(answer, int):
            lines += ["", f"{MARK}code=000 exit={answer} time=2.000 remote="]
        else:
            lines += [answer, "", f"{MARK}code=200 exit=0 time=0.001 remote=10.96.100.1"]
    argv = curl_argv(URL, max(len(answers), 1))
    result = CommandResult("pod/ns/client", ("kubectl", "exec", "client", "--", *argv), 0,
                           "\n".join(lines) + "\n", "", 0.5)
    return parse_batch(URL, result)


def cycle(n: int, pods: Sequence[str] = PODS) -> list[str]:
    return [pods[i % len(pods)] for i in range(n)]


def stat(counts: Sequence[int]) -> float:
    expected = sum(counts) / len(counts)
    return sum((c - expected) ** 2 / expected for c in counts)


# ---------------------------------------------------------------- chi-square


def test_equal_counts_have_p_one() -> None:
    assert chi_square_p([100, 100, 100]) == pytest.approx(1.0)
    assert chi_square_p([50, 50]) == pytest.approx(1.0)


def test_degenerate_inputs_have_p_one() -> None:
    assert chi_square_p([]) == 1.0
    assert chi_square_p([7]) == 1.0
    assert chi_square_p([0, 0, 0]) == 1.0


@pytest.mark.parametrize("counts", [[150, 75, 75], [110, 100, 90], [120, 90, 90], [130, 100, 70]])
def test_three_pods_match_the_closed_form_for_two_degrees_of_freedom(counts: list[int]) -> None:
    # dof = 2: the survival function is exp(-x/2); [150, 75, 75] gives x = 37.5, p ~ 7.19e-9
    assert chi_square_p(counts) == pytest.approx(math.exp(-stat(counts) / 2), rel=1e-6)


@pytest.mark.parametrize("counts", [[55, 45], [60, 40], [70, 30], [80, 20]])
def test_two_pods_match_the_closed_form_for_one_degree_of_freedom(counts: list[int]) -> None:
    # dof = 1: the survival function is erfc(sqrt(x/2))
    assert chi_square_p(counts) == pytest.approx(math.erfc(math.sqrt(stat(counts) / 2)), rel=1e-6)


def test_chi_square_reference_value_for_a_50_25_25_split() -> None:
    assert chi_square_p([150, 75, 75]) == pytest.approx(7.1941e-9, rel=1e-3)


@pytest.mark.parametrize("counts", [[200, 50, 50], [300, 0, 0], [600, 200, 200], [100, 0]])
def test_far_in_the_tail_p_is_tiny(counts: list[int]) -> None:
    # p is 1 - (lower incomplete gamma), so below ~1e-12 only the absolute error is small
    assert chi_square_p(counts) == pytest.approx(0.0, abs=1e-11)


@pytest.mark.parametrize("counts", [[990, 10], [800, 100, 100], [900, 50, 50]])
def test_grossly_uneven_large_batches_have_a_tiny_p(counts: list[int]) -> None:
    assert chi_square_p(counts) < 1e-30


# ---------------------------------------------------------------- reaches_all


def test_reaches_all_holds_when_every_pod_answers_and_nothing_fails() -> None:
    verdict = reaches_all(batch(cycle(6)), PODS)

    assert verdict.ok
    assert verdict.observed == "myapp-a=2, myapp-b=2, myapp-c=2; failures: 0"


def test_reaches_all_names_a_missing_pod() -> None:
    verdict = reaches_all(batch(cycle(6, PODS[:2])), PODS)

    assert not verdict.ok
    assert "myapp-c=0" in verdict.observed


def test_reaches_all_fails_on_a_stranger_and_on_curl_errors() -> None:
    assert not reaches_all(batch([*cycle(3), "myapp-old"]), PODS).ok
    failed = reaches_all(batch([*cycle(3), 28, 7]), PODS)
    assert not failed.ok
    assert "failures: 2 (curl exits [7, 28])" in failed.observed


# ---------------------------------------------------------------- round_robin


@pytest.mark.parametrize("requests", [3, 30, 300])
def test_a_perfect_cycle_is_round_robin(requests: int) -> None:
    assert round_robin(batch(cycle(requests)), PODS).ok


def test_a_cycle_that_stops_mid_way_is_round_robin() -> None:
    # 301 answers of a cycle: counts 101/100/100. (A cycle cannot give 101/100/99: every window
    # of three names each pod once, so the counts never differ by more than one.)
    verdict = round_robin(batch(cycle(301)), PODS)

    assert verdict.ok
    assert verdict.observed == "myapp-a=101, myapp-b=100, myapp-c=100"


def test_the_cycle_order_is_free() -> None:
    assert round_robin(batch(cycle(30, ("myapp-c", "myapp-a", "myapp-b"))), PODS).ok


def test_a_repeated_pod_breaks_the_cycle_and_the_window_is_named() -> None:
    answers = cycle(9)
    answers[4] = "myapp-a"  # a b c a a c a b c
    verdict = round_robin(batch(answers), PODS)

    assert not verdict.ok
    assert "first broken window at request 2: ['myapp-c', 'myapp-a', 'myapp-a']" in verdict.observed


def test_counts_more_than_one_apart_are_not_round_robin() -> None:
    verdict = round_robin(batch([*cycle(99), "myapp-a", "myapp-a"]), PODS)

    assert not verdict.ok
    assert "myapp-a=35" in verdict.observed


def test_a_failed_request_is_not_round_robin() -> None:
    answers: list[str | int] = [*cycle(6), 28]
    verdict = round_robin(batch(answers), PODS)

    assert not verdict.ok
    assert "curl exit 28" in verdict.observed


# ---------------------------------------------------------------- uniform_random


def test_an_even_split_is_uniform_random() -> None:
    verdict = uniform_random(batch(cycle(300)), PODS)

    assert verdict.ok
    assert "p = 1.0000" in verdict.observed


def test_a_50_25_25_split_of_300_is_not_uniform_random() -> None:
    answers = ["myapp-a"] * 150 + ["myapp-b"] * 75 + ["myapp-c"] * 75
    verdict = uniform_random(batch(answers), PODS, alpha=RANDOM_ALPHA)

    assert RANDOM_ALPHA == 0.001
    assert not verdict.ok
    assert verdict.observed == "myapp-a=150, myapp-b=75, myapp-c=75; p = 0.0000"


def test_an_80_10_10_split_of_1000_is_not_uniform_random() -> None:
    answers = ["myapp-a"] * 800 + ["myapp-b"] * 100 + ["myapp-c"] * 100

    assert not uniform_random(batch(answers), PODS).ok


def test_a_silent_pod_is_not_uniform_random() -> None:
    assert not uniform_random(batch(cycle(300, PODS[:2])), PODS).ok


# ---------------------------------------------------------------- verify


def test_verify_returns_a_verdict_that_holds() -> None:
    verdict = reaches_all(batch(cycle(3)), PODS)

    assert verify(verdict) is verdict


def test_verify_fails_with_expected_observed_and_the_command_to_reproduce() -> None:
    failing = round_robin(batch(["myapp-a"] * 6), PODS)

    with pytest.raises(AssertionError) as caught:
        verify(failing, facts=lambda: "  endpoints: none ready")
    text = str(caught.value)

    assert "rr cycles through the pods: does NOT hold" in text
    assert "expected: per-pod counts within 1" in text
    assert "observed: myapp-a=6, myapp-b=0, myapp-c=0" in text
    assert failing.evidence[0].reproduce in text
    assert "kubectl exec client -- curl -s -H 'Connection: close'" in text
    assert "endpoints: none ready" in text


def test_a_verdict_report_without_evidence_has_its_notes() -> None:
    text = Verdict("x", False, "one", "two", notes=("a hint",)).report()

    assert text.splitlines() == ["x: does NOT hold", "  expected: one", "  observed: two", "  note: a hint"]
