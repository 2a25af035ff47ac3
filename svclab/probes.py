"""Probes make traffic and return what happened; they never assert.

A batch of HTTP requests is one exec: a single curl process given the URL N times,
each request on a new connection (`Connection: close`), so the proxy chooses a
backend for each one. curl's per-transfer write-out line carries the exit code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from svclab.result import CommandResult

MARK = "##SVCLAB "
WRITE_OUT = "code=%{http_code} exit=%{exitcode} time=%{time_total} remote=%{remote_ip}"
MAX_REQUESTS = 1000  # every request loop is bounded in count ...
REQUEST_TIMEOUT = 2.0  # ... and in time

Runner = Callable[[Sequence[str], float], CommandResult]


@dataclass(frozen=True)
class Answer:
    body: str
    http_code: int
    exitcode: int  # curl's: 0 ok, 7 refused, 28 timed out
    seconds: float
    remote: str


@dataclass(frozen=True)
class Batch:
    url: str
    answers: tuple[Answer, ...]
    command: CommandResult

    def ok(self) -> tuple[Answer, ...]:
        return tuple(a for a in self.answers if a.exitcode == 0 and a.http_code == 200)

    def failed(self) -> tuple[Answer, ...]:
        return tuple(a for a in self.answers if a.exitcode != 0 or a.http_code != 200)

    def counts(self) -> Counter[str]:
        return Counter(a.body for a in self.ok())

    def sequence(self) -> list[str]:
        return [a.body if a.exitcode == 0 else f"curl exit {a.exitcode}" for a in self.answers]


def curl_argv(url: str, count: int, timeout: float = REQUEST_TIMEOUT) -> list[str]:
    if not 1 <= count <= MAX_REQUESTS:
        raise ValueError(f"a batch is 1 to {MAX_REQUESTS} requests, not {count}")
    sep = "&" if "?" in url else "?"
    # curl's URL globbing makes `count` transfers from one short, replayable argument
    return ["curl", "-s", "-H", "Connection: close", "--max-time", str(timeout),
            "-w", f"\n{MARK}{WRITE_OUT}\n", f"{url}{sep}n=[1-{count}]"]


def parse_batch(url: str, result: CommandResult) -> Batch:
    """Split curl's output into one Answer per transfer (bodies are stripped)."""
    answers: list[Answer] = []
    body: list[str] = []
    for line in result.stdout.splitlines():
        if line.startswith(MARK):
            info = dict(f.split("=", 1) for f in line[len(MARK):].split() if "=" in f)
            answers.append(Answer(
                body="\n".join(body).strip(), http_code=int(info.get("code") or 0),
                exitcode=int(info.get("exit") or 0), seconds=float(info.get("time") or 0),
                remote=info.get("remote", ""),
            ))
            body = []
        else:
            body.append(line)
    return Batch(url, tuple(answers), result)


def curl_batch(run: Runner, url: str, count: int) -> Batch:
    """`count` GETs of url through `run` (a pod or container exec); one process in all."""
    budget = count * REQUEST_TIMEOUT + 30
    return parse_batch(url, run(curl_argv(url, count), budget))


def dig_argv(name: str, rtype: str = "A", server: str | None = None) -> list[str]:
    argv = ["dig", "+tries=1", "+time=2", "-t", rtype, name]
    return [*argv, f"@{server}"] if server else argv


SETTLE_REQUESTS = 6  # twice the seeds' three pods


def wait_settled(run: Runner, url: str, *, what: str, timeout: float = 60, full: bool = True) -> None:
    """Wait until a short batch to url is answered in full, not just once: kube-proxy writes
    IPVS, ipsets and iptables one after the other, and until the last is in, some paths
    (say, to a pod on another node, which needs masquerading) still fail. In the IPVS VM
    that window lasts seconds. With full=False one answer is enough (a Service whose pods
    refuse part of the connections on purpose)."""
    from svclab.wait import wait_for

    def settled() -> bool:
        batch = curl_batch(run, url, SETTLE_REQUESTS)
        return bool(batch.ok()) and (not full or not batch.failed())

    wait_for(settled, what=what, timeout=timeout, interval=0.5)
