"""Run a command and keep everything about it; never assert, never raise on failure."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from svclab.core.errors import SvclabError

TAIL_LINES = 30


class CommandError(SvclabError):
    """A command that had to succeed did not; carries its whole result."""

    def __init__(self, message: str, result: CommandResult) -> None:
        super().__init__(f"{message}\n{result.describe()}")
        self.result = result


@dataclass(frozen=True)
class CommandResult:
    """One finished command: where it ran, what ran, and what came back."""

    where: str
    argv: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str
    duration: float
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.rc == 0

    @property
    def reproduce(self) -> str:
        """The shell line that runs the same command again from this host."""
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(self.env.items()))
        line = shlex.join(self.argv)
        return f"{prefix} {line}" if prefix else line

    def describe(self, tail: int = TAIL_LINES) -> str:
        """Command, exit code and the tail of both streams, for failure messages."""
        parts = [f"  command ({self.where}): {self.reproduce}", f"  exit code: {self.rc}"]
        parts.append(f"  duration: {self.duration:.2f} s")
        for name, text in (("stdout", self.stdout), ("stderr", self.stderr)):
            lines = text.rstrip("\n").splitlines()
            if lines:
                shown = lines[-tail:]
                cut = f" (last {tail} of {len(lines)} lines)" if len(lines) > tail else ""
                parts.append(f"  {name}{cut}:")
                parts.extend(f"    | {line}" for line in shown)
        return "\n".join(parts)

    def check(self, what: str) -> CommandResult:
        """Return self when the command succeeded, else raise CommandError naming `what`."""
        if not self.ok:
            raise CommandError(f"{what} failed", self)
        return self


def run(
    argv: Sequence[str],
    *,
    where: str = "host",
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
    stdin: str | None = None,
) -> CommandResult:
    """Run argv (never a shell string) and return its result; a timeout gives rc 124."""
    extra = dict(env or {})
    start = time.monotonic()
    try:
        proc = subprocess.run(
            list(argv),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **extra},
            check=False,
        )
        rc, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        rc = 124
        out = _text(exc.stdout)
        err = _text(exc.stderr) + f"\nsvclab: timed out after {timeout:.0f} s"
    except FileNotFoundError:
        rc, out, err = 127, "", f"svclab: {argv[0]}: command not found"
    return CommandResult(where, tuple(argv), rc, out, err, time.monotonic() - start, extra)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data
