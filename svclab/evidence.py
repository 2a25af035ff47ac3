"""Evidence of every check, gathered while the tests run and written as JSON at the end:
the lab's facts, and per test its outcome, duration and named verdicts (expected vs
observed, the data behind them and the commands that reproduce them)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from svclab.result import CommandResult

RAW_LIMIT = 4000  # characters of raw output kept per command


@dataclass
class Store:
    lab: dict[str, Any] = field(default_factory=dict)
    tests: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)

    def take(self) -> list[dict[str, Any]]:
        out, self.pending = self.pending, []
        return out


STORE = Store()


def command(result: CommandResult) -> dict[str, Any]:
    return {"where": result.where, "reproduce": result.reproduce, "rc": result.rc,
            "seconds": round(result.duration, 3), "stdout": result.stdout[-RAW_LIMIT:],
            "stderr": result.stderr[-RAW_LIMIT:]}


def note(name: str, ok: bool, expected: str, observed: str, commands: list[CommandResult],
         data: dict[str, Any]) -> None:
    """Record one verdict for the test that is running."""
    STORE.pending.append({"name": name, "ok": ok, "expected": expected, "observed": observed,
                          "data": data, "commands": [command(c) for c in commands]})


def note_lab(facts: dict[str, Any]) -> None:
    STORE.lab.update(facts)


def add_test(nodeid: str, outcome: str, seconds: float, message: str, properties: dict[str, Any]) -> None:
    STORE.tests.append({"nodeid": nodeid, "outcome": outcome, "seconds": round(seconds, 3),
                        "message": message[-RAW_LIMIT:], "verdicts": STORE.take(), "properties": properties})


def write(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    from svclab import __version__

    doc = {"format": "svclab-evidence/1", "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "svclab": __version__, "lab": STORE.lab, "tests": STORE.tests}
    path.write_text(json.dumps(doc, indent=1, sort_keys=True))
    return path
