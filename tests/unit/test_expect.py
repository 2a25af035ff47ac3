"""svclab.expect on batches parsed from curl output text: each expectation holds on the
behaviour it names and fails on a truncated, an empty and a wrong (rotated, skewed) batch."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import pytest

from svclab.core.result import CommandResult
from svclab.expect import (
    Verdict,
    VerdictFailed,
    answered,
    one_pod,
    random_choice,
    reaches_all,
    refused_share,
    refuted,
    round_robin,
    settle,
    several_pods,
    unanswered,
    verify,
    verify_all,
)
from svclab.expect.spread import RANDOM_SAMPLE
from svclab.expect.traffic import one_pod_minimum
from svclab.observe.probes import MARK, Batch, curl_argv, parse_batch

URL = "http://10.96.100.1/"
PODS = ("myapp-a", "myapp-b", "myapp-c")


def batch(answers: Sequence[str | int], requested: int | None = None, rc: int = 0) -> Batch:
    """A batch as curl would print it: a pod name answers 200, an int is a failed curl exit code.
    `requested` larger than the answers makes a truncated batch (the exec died, exit `rc`)."""
    lines: list[str] = []
    for answer in answers:
        if isinstance(answer, int):
            lines += ["", f"{MARK}code=000 exit={answer} time=2.000 remote="]
        else:
            lines += [answer, "", f"{MARK}code=200 exit=0 time=0.001 remote=10.96.100.1"]
    asked = len(answers) if requested is None else requested
    argv = curl_argv(URL, max(asked, 1))
    result = CommandResult("pod/ns/client", ("kubectl", "exec", "client", "--", *argv), rc,
                           "\n".join(lines) + "\n", "error: signal: killed\n" if rc else "", 0.5)
    return parse_batch(URL, result, asked)


def cycle(n: int, pods: Sequence[str] = PODS) -> list[str]:
    return [pods[i % len(pods)] for i in range(n)]


def uniform(n: int, seed: int = 7, pods: Sequence[str] = PODS) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(pods) for _ in range(n)]


def truncated(n: int) -> Batch:
    return batch(cycle(3), requested=n, rc=124)


EXPECTATIONS: dict[str, Callable[[Batch], Verdict]] = {
    "reaches_all": lambda b: reaches_all(b, PODS),
    "one_pod": lambda b: one_pod(b, PODS),
    "round_robin": lambda b: round_robin(b, PODS),
    "random_choice": lambda b: random_choice(b, PODS),
    "refused_share": lambda b: refused_share(b, PODS[:2], PODS[2:]),
    "answered": answered,
    "several_pods": lambda b: several_pods(b, PODS),
}


@pytest.mark.parametrize("name", list(EXPECTATIONS))
def test_every_expectation_fails_on_a_truncated_batch(name: str) -> None:
    verdict = EXPECTATIONS[name](truncated(300))
    assert not verdict.ok
    assert "300 requests asked, 3 reported by curl (the exec ended with timed out: error: signal: killed)" \
        in verdict.observed


@pytest.mark.parametrize("name", list(EXPECTATIONS))
def test_every_expectation_fails_on_an_empty_batch(name: str) -> None:
    verdict = EXPECTATIONS[name](batch([], requested=30, rc=1))
    assert not verdict.ok
    assert "30 requests asked, 0 reported" in verdict.observed


@pytest.mark.parametrize("name, holds", [("reaches_all", True), ("one_pod", False), ("round_robin", True),
                                         ("random_choice", False), ("refused_share", False), ("answered", True),
                                         ("several_pods", True)])
def test_a_rotation_passes_only_what_a_rotation_is(name: str, holds: bool) -> None:
    assert EXPECTATIONS[name](batch(cycle(RANDOM_SAMPLE))).ok is holds


def test_the_expected_text_comes_from_the_request_not_the_answers() -> None:
    verdict = reaches_all(truncated(300), PODS)
    assert verdict.expected.startswith("all 300 requests answered 200")


# ---------------------------------------------------------------- reaches_all


def test_reaches_all_holds_when_every_pod_answers_and_nothing_fails() -> None:
    verdict = reaches_all(batch(cycle(60)), PODS)
    assert verdict.ok and verdict.data["requested"] == 60 and verdict.data["answered"] == 60
    assert verdict.observed == "myapp-a=20, myapp-b=20, myapp-c=20; failures: 0"


def test_reaches_all_names_a_missing_pod_a_stranger_and_curl_errors_by_kind() -> None:
    assert "myapp-c=0" in reaches_all(batch(cycle(60, PODS[:2])), PODS).observed
    assert not reaches_all(batch([*cycle(30), "myapp-old"]), PODS).ok
    failed = reaches_all(batch([*cycle(30), 28, 7, 7]), PODS)
    assert not failed.ok and "failures: 3 (refused 2, timed out 1; request 31, 32, 33 of 33)" in failed.observed
    assert failed.data["curl_exits"] == {"28": 1, "7": 2}


def test_reaches_all_over_no_pods_cannot_hold() -> None:
    assert not reaches_all(batch(cycle(6)), []).ok


def test_a_small_random_sample_says_it_may_miss_a_pod() -> None:
    assert any("misses a pod" in n for n in reaches_all(batch(cycle(6)), PODS).notes)
    assert not reaches_all(batch(cycle(60)), PODS).notes


# ---------------------------------------------------------------- one_pod


def test_one_pod_holds_on_a_sample_large_enough_to_reject_chance() -> None:
    assert one_pod_minimum(3) == 8  # 3 * 3**-7 = 0.0014 > 0.001; 3 * 3**-8 < 0.001
    assert one_pod(batch(["myapp-b"] * 8), PODS).ok


def test_one_pod_fails_on_a_single_answer_a_stranger_and_a_failure() -> None:
    assert not one_pod(batch(["myapp-b"]), PODS).ok
    assert "proves nothing" in one_pod(batch(["myapp-b"] * 3), PODS).observed
    assert not one_pod(batch(["myapp-z"] * 30), PODS).ok
    assert not one_pod(batch([*["myapp-b"] * 29, 7]), PODS).ok


# ---------------------------------------------------------------- round_robin


@pytest.mark.parametrize("requests", [6, 30, 300, 301])
def test_a_cycle_of_two_rounds_or_more_is_round_robin(requests: int) -> None:
    assert round_robin(batch(cycle(requests)), PODS).ok


def test_fewer_than_two_cycles_is_not_enough() -> None:
    verdict = round_robin(batch(cycle(5)), PODS)
    assert not verdict.ok and "fewer than two cycles" in verdict.observed


def test_the_cycle_order_is_free_but_a_repeat_breaks_it() -> None:
    assert round_robin(batch(cycle(30, ("myapp-c", "myapp-a", "myapp-b"))), PODS).ok
    answers = cycle(9)
    answers[4] = "myapp-a"  # a b c a a c a b c
    verdict = round_robin(batch(answers), PODS)
    assert not verdict.ok
    assert "first broken window at request 2: ['myapp-c', 'myapp-a', 'myapp-a']" in verdict.observed


def test_random_choice_is_not_round_robin() -> None:
    assert not round_robin(batch(uniform(300)), PODS).ok


# ---------------------------------------------------------------- random_choice


def test_uniform_independent_draws_are_random_choice() -> None:
    verdict = random_choice(batch(uniform(RANDOM_SAMPLE)), PODS)
    assert verdict.ok, verdict.report()
    assert not verdict.notes


def test_skew_and_stickiness_are_not_random_choice() -> None:
    rng = random.Random(3)
    skewed = rng.choices(PODS, weights=(50, 25, 25), k=RANDOM_SAMPLE)
    assert not random_choice(batch(skewed), PODS).ok
    sticky = [p for p in uniform(RANDOM_SAMPLE // 5) for _ in range(5)]
    assert not random_choice(batch(sticky), PODS).ok


def test_a_random_sample_smaller_than_its_power_calculation_cannot_hold() -> None:
    assert RANDOM_SAMPLE == 2000
    verdict = random_choice(batch(uniform(300)), PODS)
    assert not verdict.ok and any(str(RANDOM_SAMPLE) in n for n in verdict.notes)


def test_a_failure_in_a_random_batch_fails_it() -> None:
    assert not random_choice(batch([*uniform(RANDOM_SAMPLE - 1), 28]), PODS).ok


# ---------------------------------------------------------------- refused_share


def test_a_third_refused_from_one_deaf_pod_of_three() -> None:
    answers: list[str | int] = [p if p != "myapp-c" else 7 for p in uniform(90, seed=5)]
    assert refused_share(batch(answers), PODS[:2], PODS[2:]).ok


def test_timeouts_are_not_refusals_and_a_wrong_share_fails() -> None:
    timeouts: list[str | int] = [p if p != "myapp-c" else 28 for p in uniform(90, seed=5)]
    assert not refused_share(batch(timeouts), PODS[:2], PODS[2:]).ok
    mostly: list[str | int] = [7] * 80 + cycle(10, PODS[:2])
    assert not refused_share(batch(mostly), PODS[:2], PODS[2:]).ok


# ---------------------------------------------------------------- verify, verify_all, refuted, settle


def test_verify_fails_with_expected_observed_the_command_and_the_facts() -> None:
    failing = round_robin(batch(["myapp-a"] * 6), PODS)
    with pytest.raises(VerdictFailed) as caught:
        verify(failing, facts=lambda: "  endpoints: none ready")
    text = str(caught.value)
    assert "rr cycles through the pods: does NOT hold" in text
    assert "observed: myapp-a=6, myapp-b=0, myapp-c=0" in text
    assert "kubectl exec client -- curl -s -H 'Connection: close'" in text
    assert "endpoints: none ready" in text


def test_verify_all_reports_every_bad_node_and_refuses_nothing() -> None:
    good = Verdict("node-a", True, "x", "x")
    with pytest.raises(VerdictFailed) as caught:
        verify_all([Verdict("node-b", False, "x", "y"), good, Verdict("node-c", False, "x", "z")])
    assert [v.name for v in caught.value.verdicts] == ["node-b", "node-c"]
    with pytest.raises(VerdictFailed, match="a check over nothing cannot pass"):
        verify_all([])


def test_refuted_fails_when_the_check_still_holds() -> None:
    assert not refuted(reaches_all(batch([7] * 6), PODS), "no endpoints").ok
    with pytest.raises(VerdictFailed, match="the check still held, so it cannot see that cause"):
        refuted(reaches_all(batch(cycle(60)), PODS), "no endpoints")


def test_settle_returns_the_last_observation_when_time_runs_out() -> None:
    seen = iter(range(1000))
    verdict, seconds = settle(lambda: Verdict("v", False, "1", str(next(seen))), timeout=0.3, interval=0.1)
    assert not verdict.ok and "still not so after waiting 0 s" in verdict.notes[-1] and seconds >= 0.3
    verdict, _ = settle(lambda: Verdict("v", True, "1", "1"), timeout=5)
    assert verdict.ok


def test_unanswered_needs_a_whole_batch_with_no_answer() -> None:
    assert unanswered(batch([7, 7, 28])).ok
    assert not unanswered(batch([7, "myapp-a"])).ok
    assert not unanswered(batch([], requested=6, rc=1)).ok


def test_several_pods_rejects_one_pod_a_failure_and_a_sample_too_small_to_tell() -> None:
    n = one_pod_minimum(len(PODS))
    assert several_pods(batch(["myapp-a"] * (n - 1) + ["myapp-b"]), PODS).ok
    assert not several_pods(batch(["myapp-a"] * n), PODS).ok  # an affinity that never expired
    assert not several_pods(batch(["myapp-a"] * (n - 1) + [7]), PODS).ok
    small = several_pods(batch(["myapp-a", "myapp-b"]), PODS)
    assert not small.ok and "proves nothing" in small.observed


def test_refuted_fails_when_the_controls_sample_came_back_short() -> None:
    """A cut batch fails every check; as a control's failure it would show nothing of the cause."""
    with pytest.raises(VerdictFailed, match="came back short"):
        refuted(reaches_all(truncated(30), PODS), "no endpoints")
