"""svclab.observe.probes and parse_dig on outputs recorded from the live lab (tests/recorded/lab)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from svclab.core.result import CommandResult
from svclab.observe.parsers import DnsRecord, parse_dig
from svclab.observe.probes import (
    BATCH_BUDGET,
    MARK,
    MAX_REQUESTS,
    REQUEST_TIMEOUT,
    Answer,
    curl_argv,
    curl_batch,
    dig_argv,
    parse_batch,
    requested_by,
)

LAB = Path(__file__).parent.parent / "recorded" / "lab"
CLUSTER_IP = "10.102.230.184"
URL = f"http://{CLUSTER_IP}/"


def recorded(name: str) -> str:
    return (LAB / name).read_text(encoding="utf-8")


def result(stdout: str, rc: int = 28) -> CommandResult:
    return CommandResult("pod/rec/client", ("curl",), rc, stdout, "", 2.1)


# ---------------------------------------------------------------- parse_batch, recorded


def test_recorded_batch_has_three_answers_and_a_timeout() -> None:
    batch = parse_batch(URL, result(recorded("curl-batch-clusterip.txt")), 4)

    assert len(batch.answers) == 4
    assert [(a.exitcode, a.http_code) for a in batch.answers] == [(0, 200), (0, 200), (0, 200), (28, 0)]
    assert batch.answers[0] == Answer("myapp-6954fcc4b8-9lzn4", 200, 0, 0.000661, CLUSTER_IP)
    assert batch.answers[3] == Answer("", 0, 28, 2.000664, "")


def test_recorded_batch_bodies_are_pod_names() -> None:
    batch = parse_batch(URL, result(recorded("curl-batch-clusterip.txt")), 4)

    assert [a.body for a in batch.ok()] == ["myapp-6954fcc4b8-9lzn4", "myapp-6954fcc4b8-c678x",
                                           "myapp-6954fcc4b8-c678x"]
    assert all(a.body.startswith("myapp-6954fcc4b8-") for a in batch.ok())
    assert {a.remote for a in batch.ok()} == {CLUSTER_IP}


def test_recorded_batch_counts_sequence_and_failures() -> None:
    batch = parse_batch(URL, result(recorded("curl-batch-clusterip.txt")), 4)

    assert dict(batch.counts()) == {"myapp-6954fcc4b8-9lzn4": 1, "myapp-6954fcc4b8-c678x": 2}
    assert batch.sequence()[-1] == "curl exit 28 (timed out)"
    assert [a.exitcode for a in batch.failed()] == [28]
    assert (batch.url, batch.command.rc) == (URL, 28)


def test_empty_output_is_a_batch_of_no_answers() -> None:
    assert parse_batch(URL, result("", rc=6), 3).answers == ()


def test_a_multi_line_body_is_kept_whole_and_stripped() -> None:
    text = f"\n line one\nline two \n\n{MARK}code=404 exit=0 time=0.1 remote=10.0.0.1\n"
    (answer,) = parse_batch(URL, result(text, rc=0), 1).answers

    assert answer == Answer("line one\nline two", 404, 0, 0.1, "10.0.0.1")


# ---------------------------------------------------------------- curl_argv


@pytest.mark.parametrize("count", [0, -1, MAX_REQUESTS + 1])
def test_a_batch_outside_its_bounds_is_refused(count: int) -> None:
    with pytest.raises(ValueError, match=f"1 to {MAX_REQUESTS} requests, not {count}"):
        curl_argv(URL, count)


def test_curl_argv_closes_each_connection_and_bounds_each_request() -> None:
    argv = curl_argv(URL, 3)

    assert MAX_REQUESTS == 3000
    assert argv[0] == "curl"
    assert argv[argv.index("-H") + 1] == "Connection: close"
    assert argv[argv.index("--max-time") + 1] == str(REQUEST_TIMEOUT)
    assert argv[-1] == f"{URL}?n=[1-3]"  # curl's globbing: three transfers, one short argument
    write_out = argv[argv.index("-w") + 1]
    assert write_out.startswith(f"\n{MARK}") and "%{exitcode}" in write_out and "%{http_code}" in write_out


def test_curl_argv_accepts_the_bounds_and_a_timeout() -> None:
    assert curl_argv(URL, 1)[-1] == f"{URL}?n=[1-1]"
    assert curl_argv(URL, MAX_REQUESTS)[-1] == f"{URL}?n=[1-{MAX_REQUESTS}]"
    assert curl_argv(f"{URL}x?a=1", 2)[-1] == f"{URL}x?a=1&n=[1-2]"
    argv = curl_argv(URL, 1, timeout=5)
    assert argv[argv.index("--max-time") + 1] == "5"


@dataclass(frozen=True)
class Recorded:
    """A shell that answers with recorded output."""

    run: Callable[..., CommandResult]
    host: str = "recorded://"


def test_curl_batch_runs_one_process_with_a_budget() -> None:
    seen: list[tuple[list[str], float]] = []

    def run(argv: Sequence[str], *, timeout: float = 60.0, stdin: str | None = None) -> CommandResult:
        seen.append((list(argv), timeout))
        return result(recorded("curl-batch-clusterip.txt"))

    batch = curl_batch(Recorded(run), URL, 4)

    assert len(seen) == 1
    assert seen[0] == (curl_argv(URL, 4), 4 * REQUEST_TIMEOUT + 30)
    assert len(batch.answers) == 4 and batch.requested == 4 and batch.short() is None


def test_a_large_batch_is_bounded_in_time_and_a_cut_one_says_so() -> None:
    seen: list[float] = []

    def run(argv: Sequence[str], *, timeout: float = 60.0, stdin: str | None = None) -> CommandResult:
        seen.append(timeout)
        return CommandResult("pod/rec/client", tuple(argv), 124, recorded("curl-batch-clusterip.txt"),
                             "svclab: timed out after 300 s", 300.0)

    batch = curl_batch(Recorded(run), URL, MAX_REQUESTS)

    assert seen == [BATCH_BUDGET]
    assert batch.missing == MAX_REQUESTS - 4
    assert batch.short() == (f"{MAX_REQUESTS} requests asked, 4 reported by curl (the exec ended with timed out: "
                             "svclab: timed out after 300 s)")


def test_requested_by_reads_the_glob_of_the_argv() -> None:
    assert requested_by(curl_argv(URL, 17)) == 17
    with pytest.raises(ValueError, match="not a batch made by curl_argv"):
        requested_by(["curl", URL])


def test_failures_are_named_by_kind() -> None:
    batch = parse_batch(URL, result(recorded("curl-batch-clusterip.txt")), 4)
    assert batch.failures() == "1 (timed out 1; request 4 of 4)"
    assert batch.sequence()[-1] == "curl exit 28 (timed out)"


# ---------------------------------------------------------------- dig


def test_dig_argv_is_bounded_and_names_the_server_last() -> None:
    assert dig_argv("myapp.rec.svc.cluster.local") == [
        "dig", "+tries=1", "+time=2", "-t", "A", "myapp.rec.svc.cluster.local"]
    assert dig_argv("my.k8s.example.com", "CNAME", "10.96.0.10") == [
        "dig", "+tries=1", "+time=2", "-t", "CNAME", "my.k8s.example.com", "@10.96.0.10"]


def test_recorded_dig_of_a_clusterip_service_is_one_authoritative_a_record() -> None:
    dig = parse_dig(recorded("dig-clusterip.txt"))

    assert dig.status == "NOERROR"
    assert "aa" in dig.flags
    assert dig.answers == (DnsRecord("myapp.rec.svc.cluster.local.", 30, "IN", "A", "10.108.38.170"),)
    assert dig.addresses() == frozenset({"10.108.38.170"})
    assert (dig.server, dig.query_time_ms) == ("10.96.0.10", 0)


def test_recorded_dig_outside_the_lab_zones_gets_nothing() -> None:
    # The lab's CoreDNS forwards nothing: a name outside its zones is SERVFAIL, not an answer.
    dig = parse_dig(recorded("dig-outside-zone.txt"))

    assert dig.status == "SERVFAIL"
    assert dig.answers == ()
    assert dig.cnames() == ()
    assert "aa" not in dig.flags
    assert dig.server == "10.96.0.10"
