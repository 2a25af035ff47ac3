"""What the API server says back when a manifest uses a deprecated field: the `Warning:` lines
kubectl prints from the server's warning headers. Whether a warning is due is decided from the
server's version in force, never from svclab's pin."""

from __future__ import annotations

import re

from svclab.core.result import CommandResult
from svclab.expect.verdict import Verdict


def server_warnings(result: CommandResult) -> list[str]:
    """The API server's warnings in a kubectl run's output, without kubectl's `Warning: ` prefix."""
    return [line.removeprefix("Warning: ").strip() for line in result.stderr.splitlines()
            if line.startswith("Warning: ")]


def deprecation_warning(result: CommandResult, phrase: str, server_minor: int, since: int,
                        what: str) -> Verdict:
    """The server warns with `phrase` when it is 1.`since` or newer, and says nothing of it before."""
    due = server_minor >= since
    seen = [w for w in server_warnings(result) if phrase in w]
    expected = (f"the API server warns \"{phrase}\" (Kubernetes 1.{server_minor} >= 1.{since})" if due else
                f"no warning \"{phrase}\" (Kubernetes 1.{server_minor} < 1.{since}, before the deprecation)")
    observed = f"warned: {'; '.join(seen)}" if seen else (
        f"no such warning (warnings: {'; '.join(server_warnings(result)) or 'none'})")
    verdict = Verdict(f"API server's deprecation warning for {what}", bool(seen) == due, expected, observed,
                      (result,), data={"warned": bool(seen), "server_minor": server_minor,
                               "finding": "warned" if seen else "no warning"})
    return verdict.noted(f"{what} is deprecated from Kubernetes 1.{since}: the Service still works, "
                         "the warning is what a user sees") if due else verdict


def deprecation_logged(log: CommandResult, node: str, pattern: str, server_minor: int, since: int,
                       what: str) -> Verdict:
    """A component on `node` logs a deprecation (a line matching `pattern`) when the cluster is
    1.`since` or newer, and not before. `log` is the component's `kubectl logs`."""
    lines = [line.strip() for line in log.stdout.splitlines() if re.search(pattern, line)]
    due = server_minor >= since
    expected = (f"a log line matching {pattern!r} on {node} (Kubernetes 1.{server_minor} >= 1.{since})" if due
                else f"no log line matching {pattern!r} (Kubernetes 1.{server_minor} < 1.{since})")
    observed = (f"logged: {lines[-1][:200]}" if lines else
                f"no such line in {len(log.stdout.splitlines())} log lines" + ("" if log.ok else " (kubectl failed)"))
    verdict = Verdict(f"{what}: deprecation logged on {node}", bool(lines) == due and log.ok, expected, observed,
                      (log,), data={"finding": "logged" if lines else "silent", "server_minor": server_minor})
    return verdict.noted(f"{what} is deprecated from Kubernetes 1.{since}: it still works; the log line is "
                         "what the cluster tells its operators") if due else verdict
