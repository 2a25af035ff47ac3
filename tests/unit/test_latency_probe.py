"""A timed run of requests, on curl 7.88's real output (the probe image's curl; recorded on this
machine's loopback: the run started while nothing listened on 127.0.0.1:18080, and a web
server answering `pod-a` started 0.75 s later)."""

from __future__ import annotations

from pathlib import Path

import pytest

from svclab.core.result import CommandResult
from svclab.observe.latency import clock_offset, parse_timed, timed_argv

RECORDED = Path(__file__).resolve().parents[1] / "recorded" / "lab" / "timed-batch-first-answer-loopback.txt"
STARTED = 1795539355.8434923  # this host's clock when the server's process was started
URL = "http://127.0.0.1:18080/hostname.html"


def test_every_transfer_gets_a_start_paced_by_the_rate() -> None:
    run = parse_timed(URL, CommandResult("host", ("sh",), 0, RECORDED.read_text(), "", 2.0), 20, 10)
    gaps = [b - a for a, b in zip(run.starts, run.starts[1:], strict=False)]

    assert len(run.starts) == len(run.batch.answers) == 20
    assert all(g == pytest.approx(0.1, abs=0.005) for g in gaps)
    assert 0 < run.drift < 0.1  # curl's own start-up and pacing overhead, spread over the run


def test_the_first_answer_comes_within_one_interval_of_the_server_being_up() -> None:
    run = parse_timed(URL, CommandResult("host", ("sh",), 0, RECORDED.read_text(), "", 2.0), 20, 10)
    first = run.first_answer()

    assert [a.exitcode for a in run.batch.answers[:9]] == [7] * 9  # refused while nothing listened
    assert first is not None and 0 < first - STARTED < 0.25  # python's start-up plus one 0.1 s interval
    assert run.last_from("pod-a") == pytest.approx(run.answered_at(19))
    assert run.last_from("pod-b") is None


def test_a_run_is_bounded_and_a_cut_output_gives_no_times() -> None:
    with pytest.raises(ValueError):
        timed_argv(URL, 0, 10)
    cut = parse_timed(URL, CommandResult("host", ("sh",), 137, "", "", 2.0), 20, 10)
    assert cut.starts == () and cut.first_answer() is None and cut.batch.missing == 20


def test_the_clock_offset_comes_from_the_tightest_round_trip() -> None:
    offset = clock_offset([(100.0, 105.4, 100.6), (200.0, 205.05, 200.1), (300.0, 305.5, 301.0)])
    assert offset.seconds == pytest.approx(5.0) and offset.uncertainty == pytest.approx(0.05)


def loopback_run() -> object:
    return parse_timed(URL, CommandResult("host", ("sh",), 0, RECORDED.read_text(), "", 2.0), 20, 10)


def test_a_sample_times_the_change_only_when_the_run_began_before_it() -> None:
    from svclab.harness.latency import TimedClient, first_answer_sample
    from svclab.observe.latency import ClockOffset

    run = loopback_run()
    here = TimedClient(None, None, ClockOffset(0.0, 0.0))
    timed = first_answer_sample("ClusterIP", 10, run, STARTED, here)
    late = first_answer_sample("ClusterIP", 10, run, STARTED - 5, here)

    assert timed.why == "" and timed.seconds is not None and 0 < timed.seconds < 0.25
    assert late.seconds is None and "started after the change" in late.why


def test_latency_verdicts_need_every_sample_timed_within_the_bound_and_whole_runs() -> None:
    from svclab.expect import followed_within

    assert followed_within("ClusterIP", 10, [0.4, 1.2, 0.9], ["", "", ""], (600, 600)).ok
    slow = followed_within("ClusterIP", 10, [0.4, 31.0], ["", ""], (400, 400))
    untimed = followed_within("ClusterIP", 10, [0.4, None], ["", "no answer in 200 requests"], (400, 400))
    short = followed_within("ClusterIP", 10, [0.4, 0.5], ["", ""], (400, 380))
    assert not slow.ok and "max 31.00 s" in slow.observed
    assert not untimed.ok and "no answer in 200 requests" in untimed.observed
    assert not short.ok and "came back short: 380 of 400" in short.observed
    assert untimed.data["requested"] == 400


def test_a_stream_counts_what_a_change_lost_by_kind_and_when_it_was_clean_again() -> None:
    from svclab.expect import stream_kept
    from svclab.observe.latency import stream_loss

    run = loopback_run()
    loss = stream_loss(run, run.starts[0])  # as if the change came with the first request
    assert (loss.sent, loss.returned, loss.before, loss.lost) == (20, 20, 0, 9)
    assert loss.kinds == {"curl exit 7 (refused)": 9}
    assert loss.clean_after == pytest.approx(run.answered_at(8) - run.starts[0])
    assert 1.8 < loss.tail < 2.1

    assert not stream_kept("drill", loss, 10, promised=True, tail=1.0).ok  # 9 lost where none may be
    assert stream_kept("drill", loss, 10, promised=False, tail=1.0).ok  # reported, not judged
    short = stream_kept("drill", loss, 10, promised=False)  # the stream stopped 2 s after the change
    assert not short.ok and "the rest unseen" in short.observed
    after = stream_loss(run, run.starts[15])  # a change when the stream was already failing is no sample
    assert after.before == 9 and not stream_kept("drill", after, 10, promised=False, tail=0.0).ok
