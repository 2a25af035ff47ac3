"""A node shell for unit tests that answers every command with one recorded output."""

from __future__ import annotations

from collections.abc import Sequence

from svclab.core.result import CommandResult


class RecordedShell:
    def __init__(self, text: str, rc: int = 0, host: str = "node/svclab-worker") -> None:
        self.text, self.rc, self.host = text, rc, host

    def run(self, argv: Sequence[str], *, timeout: float = 60.0, stdin: str | None = None) -> CommandResult:
        return CommandResult(self.host, tuple(argv), self.rc, self.text, "", 0.01)
