"""svclab.expect.source: source_seen and rejected hold on the behaviour they name and fail on
a short batch, a wrong source, a slow refusal and an answer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from svclab.core.result import CommandResult
from svclab.expect import rejected, source_seen
from svclab.expect.source import peer_host
from svclab.observe.probes import MARK, Batch, curl_argv, parse_batch

URL = "http://10.96.7.7/clientip"


def batch(lines: Sequence[tuple[str, int, int, float]], requested: int | None = None) -> Batch:
    """(body, http code, curl exit, seconds) per transfer, printed as curl_argv's write-out does."""
    out: list[str] = []
    for body, code, exit_, seconds in lines:
        out += [body, f"{MARK}code={code:03d} exit={exit_} time={seconds:.6f} remote=10.96.7.7"]
    asked = len(lines) if requested is None else requested
    result = CommandResult("pod/ns/probe", ("kubectl", "exec", "probe", "--", *curl_argv(URL, asked)), 0,
                           "\n".join(out) + "\n", "", 0.2)
    return parse_batch(URL, result, asked)


def test_peer_host_reads_ipv4_and_ipv6_peers() -> None:
    assert peer_host("10.244.1.5:40312\n") == "10.244.1.5"
    assert peer_host("[fd00:10:244::5]:40312") == "fd00:10:244::5"


def test_source_seen_holds_when_every_answer_names_the_client() -> None:
    good = batch([("10.244.2.4:5000", 200, 0, 0.01)] * 10)
    assert source_seen(good, ["10.244.2.4"]).ok


def test_source_seen_fails_on_a_masqueraded_answer_a_failure_or_a_short_batch() -> None:
    mixed = batch([("10.244.2.4:5000", 200, 0, 0.01)] * 9 + [("172.18.0.3:6000", 200, 0, 0.01)])
    verdict = source_seen(mixed, ["10.244.2.4"])
    assert not verdict.ok and "172.18.0.3 x1" in verdict.observed
    assert not source_seen(batch([("10.244.2.4:1", 200, 0, 0.01), ("", 0, 28, 2.0)]), ["10.244.2.4"]).ok
    assert not source_seen(batch([("10.244.2.4:1", 200, 0, 0.01)], requested=5), ["10.244.2.4"]).ok
    assert not source_seen(batch([], requested=4), ["10.244.2.4"]).ok


def test_rejected_holds_only_on_fast_refusals_of_the_whole_batch() -> None:
    assert rejected(batch([("", 0, 7, 0.002)] * 20), 1.0).ok
    slow = rejected(batch([("", 0, 7, 0.002)] * 19 + [("", 0, 7, 1.5)]), 1.0)
    assert not slow.ok and "slowest 1.500 s" in slow.observed
    dropped = rejected(batch([("", 0, 28, 2.0)] * 20), 1.0)
    assert not dropped.ok and "curl exit 28 20" in dropped.observed
    answered = rejected(batch([("myapp-a", 200, 0, 0.01)] * 20), 1.0)
    assert not answered.ok and answered.data["kinds"] == {"HTTP 200": 20}
    assert not rejected(batch([("", 0, 7, 0.002)] * 3, requested=20), 1.0).ok


# ------------------------------------------- recorded on the iptables lab, 2026-11-24
LAB = Path(__file__).parents[1] / "recorded" / "lab"


def recorded(name: str, url: str, requested: int = 20) -> Batch:
    result = CommandResult("pod/rec/probe", ("curl",), 7, (LAB / name).read_text(encoding="utf-8"), "", 18.6)
    return parse_batch(url, result, requested)


def test_recorded_no_endpoints_batch_is_refused_in_the_icmp_rate_limit_pattern() -> None:
    """20 refusals: two at once (the burst was spent while waiting), the rest one a second."""
    refusals = recorded("curl-batch-no-endpoints-iptables.txt", "http://10.109.133.187/hostname.html")
    verdict = rejected(refusals, 1.5)
    assert verdict.ok and verdict.data["at_once"] == 2 and verdict.data["kinds"] == {"refused": 20}
    assert not rejected(refusals, 1.0).ok  # the retransmitted ones took 1.02-1.04 s


def test_recorded_clientip_batches_with_and_without_masquerade_all() -> None:
    plain = recorded("curl-batch-clientip.txt", "http://10.96.0.1/clientip")
    assert source_seen(plain, ["10.244.2.4"]).ok
    masqueraded = source_seen(recorded("curl-batch-clientip-masquerade-all.txt", "http://10.96.0.1/clientip"),
                              ["10.244.2.4"])
    assert not masqueraded.ok and masqueraded.data["sources"] == {"10.244.2.1": 7, "172.29.0.3": 13}
