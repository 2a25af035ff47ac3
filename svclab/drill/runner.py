"""Run drills on a kept lab: a clean baseline run of the suites that must catch them, then per
drill break -> run those suites -> find the fact in a failing report -> restore -> show the
lab healthy, and at the end the same suites again, which must pass."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from svclab.core import progress
from svclab.core.assets import repo_root
from svclab.core.spec import LabSpec
from svclab.drill.catalogue import Drill
from svclab.expect.verdict import settle
from svclab.harness.live import LiveLab

DRILL_TEST_TIMEOUT = 420  # s per test while a drill is on: a broken lab makes waits give up, not hang


@dataclass
class Outcome:
    drill: str
    breaks: str
    suites: list[str]
    fact: str
    caught: bool = False
    by: str = ""  # the test (or the lab check) that caught it
    seen: str = ""  # the line of its report that holds the fact
    failed_tests: int = 0
    healthy_after: bool = False
    health: str = ""
    seconds: float = 0.0
    error: str = ""


@dataclass
class Pass:
    """One pytest run of suites on the kept lab."""

    rc: int
    evidence: dict[str, Any] = field(default_factory=dict)
    log: Path | None = None


def pytest_run(spec: LabSpec, suites: list[str], out: Path, extra: list[str]) -> Pass:
    out.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "pytest", *(str(repo_root() / "suites" / s) for s in suites), "-p",
            "no:cacheprovider", "-p", "no:pytest-kind", "--proxy-mode", spec.proxy_mode,
            "--lab", f"{spec.provider}:{spec.name}", "--keep-lab", "--svclab-report-dir", str(out),
            "--timeout", str(DRILL_TEST_TIMEOUT), "-q", *extra]
    log = out / "pytest.log"
    with log.open("w") as sink:
        rc = subprocess.call(argv, stdout=sink, stderr=subprocess.STDOUT)
    found = out / "evidence.json"
    return Pass(rc, json.loads(found.read_text()) if found.exists() else {}, log)


def find_fact(run: Pass, fact: str) -> tuple[str, str, int]:
    """(who caught it, the line holding the fact, failed tests) from a run's evidence."""
    pattern = re.compile(fact)
    failed = [t for t in run.evidence.get("tests", []) if t.get("outcome") == "failed"]
    lab_error = str(run.evidence.get("lab", {}).get("error", ""))
    for line in lab_error.splitlines():
        if pattern.search(line):
            return "the lab check (svclab refused the lab before any test)", line.strip(), len(failed)
    for test in failed:  # the verdicts that failed (whole), then the report's text (its tail is kept)
        said = [f"{v.get('name')}: does NOT hold; observed: {v.get('observed')}"
                for v in test.get("verdicts", []) if not v.get("ok")]
        for line in [*said, *str(test.get("message", "")).splitlines()]:
            if pattern.search(line):
                who = test["nodeid"]
                if test.get("properties", {}).get("failed_in") == "setup":
                    who += " (in its setup: a fixture's verdict)"
                return who, line.strip().removeprefix("E ").strip()[:300], len(failed)
    return "", _instead(failed), len(failed)


def _instead(failed: list[dict[str, Any]]) -> str:
    """What the suites said when they did not say the fact: the first failed test's last error
    line (a module that errored before reaching the broken thing is not a catch, and says why)."""
    if not failed:
        return ""
    errors = [line.strip().removeprefix("E").strip(" |") for line in str(failed[0].get("message", "")).splitlines()
              if line.strip().startswith("E ")]
    return f"instead, {failed[0]['nodeid']}: {(errors or ['(no error line)'])[-1]}"[:300]


def drill_once(live: LiveLab, drill: Drill, reports: Path, extra: list[str]) -> Outcome:
    outcome = Outcome(drill.name, drill.breaks, list(drill.suites), drill.fact)
    state: dict[str, str] = {}
    start = time.monotonic()
    try:
        with progress.step(f"drill {drill.name}: {drill.breaks}"):
            try:  # restore even when the break itself failed half-way
                drill.apply(live, state)
                run = pytest_run(live.spec, list(drill.suites), reports / drill.name, extra)
                outcome.by, outcome.seen, outcome.failed_tests = find_fact(run, drill.fact)
                outcome.caught = bool(outcome.by)
            finally:
                drill.restore(live, state)
        verdict, _ = settle(lambda: drill.healthy(live, state), timeout=240, interval=2)
        outcome.healthy_after, outcome.health = verdict.ok, f"{verdict.name}: {verdict.observed}"
    except Exception as exc:  # a drill that cannot be applied or restored is reported, and stops the run
        outcome.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    outcome.seconds = round(time.monotonic() - start, 1)
    verdict_word = "caught" if outcome.caught else "NOT caught"
    progress.say(f"drill {drill.name}: {verdict_word} by {outcome.by or '-'}; healthy after: {outcome.healthy_after}")
    return outcome


def write(reports: Path, mode: str, outcomes: list[Outcome], baseline: Pass, final: Pass) -> Path:
    doc = {"format": "svclab-drills/1", "mode": mode, "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "baseline_rc": baseline.rc, "final_rc": final.rc, "drills": [asdict(o) for o in outcomes]}
    (reports / "drills.json").write_text(json.dumps(doc, indent=1))
    (reports / "drills.md").write_text(markdown(doc))
    (reports / "drills.html").write_text(html(doc), encoding="utf-8")
    return reports / "drills.md"


def html(doc: dict[str, Any]) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("svclab", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    drills = doc["drills"]
    return env.get_template("drills.html.j2").render(doc=doc, caught=sum(1 for d in drills if d["caught"]),
                                                     healthy=sum(1 for d in drills if d["healthy_after"]))


def markdown(doc: dict[str, Any]) -> str:
    drills = doc["drills"]
    caught = sum(1 for d in drills if d["caught"])
    healthy = sum(1 for d in drills if d["healthy_after"])
    lines = [f"# Drills, kube-proxy in {doc['mode']} mode", "",
             f"**Caught {caught} of {len(drills)}**; lab healthy after {healthy} of {len(drills)} restores; "
             f"suites before the drills: {'passed' if doc['baseline_rc'] == 0 else 'FAILED'}, "
             f"after: {'passed' if doc['final_rc'] == 0 else 'FAILED'}.", "",
             "| drill | what breaks | caught by | the fact | healthy after | seconds |", "|---|---|---|---|---|--:|"]
    for d in drills:
        by = d["by"] or ("**not caught**" + (f" ({d['error']})" if d["error"] else ""))
        seen = d["seen"].replace("|", "\\|")
        lines.append(f"| {d['drill']} | {d['breaks']} | `{by}` | `{seen[:160]}` | "
                     f"{'yes' if d['healthy_after'] else '**no**: ' + d['health']} | {d['seconds']:.0f} |")
    return "\n".join(lines) + "\n"
