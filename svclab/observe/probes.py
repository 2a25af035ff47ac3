"""Probes make traffic and return what happened; they never assert.

A batch of HTTP requests is one exec: a single curl process given the URL N times,
each request on a new connection (`Connection: close`), so the proxy chooses a
backend for each one. curl's per-transfer write-out line carries the exit code.
A batch remembers how many requests were asked for and how the exec ended, so that
no verdict can pass on a sample that came back short.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from svclab.core.result import CommandResult
from svclab.core.shell import Shell

MARK = "##SVCLAB "
WRITE_OUT = "code=%{http_code} exit=%{exitcode} time=%{time_total} remote=%{remote_ip}"
MAX_REQUESTS = 3000  # every request loop is bounded in count ...
REQUEST_TIMEOUT = 2.0  # ... and in time, per request
BATCH_BUDGET = 300.0  # ... and in all: a batch that runs longer is cut, and says so
# curl's exit codes, named as Cilium's connectivity test names its expectations
CURL_EXITS = {0: "ok", 6: "no such host", 7: "refused", 28: "timed out", 52: "empty reply", 56: "reset"}

def exit_name(code: int) -> str:
    return f"curl exit {code} ({CURL_EXITS[code]})" if code in CURL_EXITS else f"curl exit {code}"


@dataclass(frozen=True)
class Answer:
    body: str
    http_code: int
    exitcode: int  # curl's: 0 ok, 7 refused, 28 timed out
    seconds: float
    remote: str
    at: float = 0.0  # seconds since the batch began (UDP flows write it; curl does not)

    @property
    def ok(self) -> bool:
        return self.exitcode == 0 and self.http_code == 200


@dataclass(frozen=True)
class Batch:
    url: str
    requested: int  # how many requests the probe asked for
    answers: tuple[Answer, ...]  # one per request that curl reported on
    command: CommandResult

    def ok(self) -> tuple[Answer, ...]:
        return tuple(a for a in self.answers if a.ok)

    def failed(self) -> tuple[Answer, ...]:
        return tuple(a for a in self.answers if not a.ok)

    def counts(self) -> Counter[str]:
        return Counter(a.body for a in self.ok())

    def sequence(self) -> list[str]:
        return [a.body if a.ok else exit_name(a.exitcode) for a in self.answers]

    @property
    def missing(self) -> int:
        """Requests asked for that curl never reported on (the exec died or was cut)."""
        return self.requested - len(self.answers)

    def short(self) -> str | None:
        """Why this sample is not the one asked for, in words; None when it is whole."""
        if len(self.answers) == self.requested:
            return None
        how = "timed out" if self.command.rc == 124 else f"exit code {self.command.rc}"
        said = next((line for line in self.command.stderr.splitlines() if line.strip()), "")
        return (f"{self.requested} requests asked, {len(self.answers)} reported by curl "
                f"(the exec ended with {how}{': ' + said.strip() if said else ''})")

    def failures(self) -> str:
        """The failed answers by kind, e.g. "6 (refused 4, timed out 2)"."""
        bad = Counter(CURL_EXITS.get(a.exitcode, f"curl exit {a.exitcode}") if a.exitcode else f"HTTP {a.http_code}"
                      for a in self.failed())
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(bad.items()))
        # which requests failed tells a burst (a sync, a restart) from a scattered loss
        at = [i + 1 for i, a in enumerate(self.answers) if not a.ok]
        where = f"; request {', '.join(map(str, at[:10]))}{' ...' if len(at) > 10 else ''} of {self.requested}"
        return f"{sum(bad.values())}" + (f" ({kinds}{where})" if kinds else "")


def curl_argv(url: str, count: int, timeout: float = REQUEST_TIMEOUT, per_minute: int = 0) -> list[str]:
    """`count` GETs; with per_minute, curl itself spaces their starts 60/per_minute s apart."""
    if not 1 <= count <= MAX_REQUESTS:
        raise ValueError(f"a batch is 1 to {MAX_REQUESTS} requests, not {count}")
    sep = "&" if "?" in url else "?"
    rate = ["--rate", f"{per_minute}/m"] if per_minute else []
    # curl's URL globbing makes `count` transfers from one short, replayable argument
    return ["curl", "-s", "-H", "Connection: close", "--max-time", str(timeout), *rate,
            "-w", f"\n{MARK}{WRITE_OUT}\n", f"{url}{sep}n=[1-{count}]"]


_GLOB = re.compile(r"n=\[1-(\d+)\]$")


def requested_by(argv: Sequence[str]) -> int:
    """How many requests a curl argv made by curl_argv asks for (its URL glob)."""
    found = _GLOB.search(argv[-1]) if argv else None
    if found is None:
        raise ValueError(f"not a batch made by curl_argv: {' '.join(argv)!r}")
    return int(found[1])


def parse_batch(url: str, result: CommandResult, requested: int) -> Batch:
    """Split curl's output into one Answer per transfer (bodies are stripped)."""
    answers: list[Answer] = []
    body: list[str] = []
    for line in result.stdout.splitlines():
        if line.startswith(MARK):
            info = dict(f.split("=", 1) for f in line[len(MARK):].split() if "=" in f)
            answers.append(Answer(
                body="\n".join(body).strip(), http_code=int(info.get("code") or 0),
                exitcode=int(info.get("exit") or 0), seconds=float(info.get("time") or 0),
                remote=info.get("remote", ""), at=float(info.get("at") or 0),
            ))
            body = []
        else:
            body.append(line)
    return Batch(url, requested, tuple(answers), result)


def curl_batch(shell: Shell, url: str, count: int, per_minute: int = 0) -> Batch:
    """`count` GETs of url from `shell` (the probe pod, the outside client); one process in all.
    per_minute paces them (curl's --rate), for checks about what time does between requests."""
    paced = count * 60 / per_minute if per_minute else 0
    budget = min(paced + count * REQUEST_TIMEOUT + 30, BATCH_BUDGET)
    return parse_batch(url, shell.run(curl_argv(url, count, per_minute=per_minute), timeout=budget), count)


def own_address(shell: Shell, device: str = "eth0") -> str:
    """The IPv4 address a client sends from (the outside client's, as a pod should see it)."""
    shown = shell.run(["ip", "-4", "-o", "addr", "show", device]).check(f"{device}'s address")
    return shown.stdout.split()[3].split("/")[0]


def dig_argv(name: str, rtype: str = "A", server: str | None = None) -> list[str]:
    argv = ["dig", "+tries=1", "+time=2", "-t", rtype, name]
    return [*argv, f"@{server}"] if server else argv


SETTLE_REQUESTS = 6  # twice the seeds' three pods
