"""Evidence of every check, gathered while the tests run and written as JSON at the end:
the lab's facts, and per test its outcome, duration and named verdicts (expected vs
observed, the data behind them and the commands that reproduce them)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from svclab.core.result import CommandResult

RAW_LIMIT = 4000  # characters of raw output kept per command


@dataclass
class Store:
    """`pending`: what the running test has recorded so far, in this process; the plugin moves it
    into the test's report (user_properties), so that it travels with the report (to the
    pytest-xdist controller too). `lab` and `tests`: what the reports brought, written at the end."""

    lab: dict[str, Any] = field(default_factory=dict)
    tests: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    pending_lab: dict[str, Any] = field(default_factory=dict)

    def take(self) -> dict[str, Any]:
        """What the running test recorded: its verdicts, and lab facts noted since the last test."""
        out = {"verdicts": self.pending, "lab": self.pending_lab}
        self.pending, self.pending_lab = [], {}
        return out


STORE = Store()


def command(result: CommandResult) -> dict[str, Any]:
    return {"where": result.where, "reproduce": result.reproduce, "rc": result.rc,
            "seconds": round(result.duration, 3), "stdout": result.stdout[-RAW_LIMIT:],
            "stderr": result.stderr[-RAW_LIMIT:]}


def note(name: str, ok: bool, expected: str, observed: str, commands: list[CommandResult],
         data: dict[str, Any], notes: tuple[str, ...] = ()) -> None:
    """Record one verdict for the test that is running (its notes say where, and what else)."""
    STORE.pending.append({"name": name, "ok": ok, "expected": expected, "observed": observed,
                          "data": data, "commands": [command(c) for c in commands],
                          **({"notes": list(notes)} if notes else {})})


def note_lab(facts: dict[str, Any]) -> None:
    STORE.pending_lab.update(facts)


def add_test(nodeid: str, outcome: str, seconds: float, message: str, properties: dict[str, Any],
             carried: dict[str, Any]) -> None:
    """One test's outcome with what its report carried (from `take()`, in whichever process ran it)."""
    STORE.lab.update(carried.get("lab") or {})
    STORE.tests.append({"nodeid": nodeid, "outcome": outcome, "seconds": round(seconds, 3),
                        "message": message[-RAW_LIMIT:], "verdicts": list(carried.get("verdicts") or []),
                        "properties": properties})


def write(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    from svclab import __version__

    doc = {"format": "svclab-evidence/1", "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "svclab": __version__, "lab": STORE.lab, "tests": STORE.tests}
    path.write_text(json.dumps(doc, indent=1, sort_keys=True))
    return path
