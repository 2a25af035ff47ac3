"""Reports from the evidence a run leaves behind (`<report dir>/evidence.json`): a short
Markdown summary for a CI job page, one self-contained HTML page, and the changes since a
previous run, regressions first.

    python -m svclab.report render EVIDENCE [--previous OLD_EVIDENCE] [--out DIR]
    python -m svclab.report compare OLD NEW
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from svclab.core.errors import SvclabError
from svclab.labfacts import lab_facts

FORMAT = "svclab-evidence/1"
BEHAVIOURS = {
    "test_smoke": "Lab", "test_clusterip": "ClusterIP", "test_dns": "DNS (headless, ExternalName)",
    "test_nodeport": "NodePort", "test_externalip": "externalIPs", "test_loadbalancer": "LoadBalancer",
    "test_affinity": "Session affinity", "test_named_ports": "Named ports", "test_readiness": "Readiness",
    "test_endpoints_follow": "Endpoints follow pods", "test_port_forward": "port-forward",
    "test_ipvs_schedulers": "IPVS schedulers", "test_no_endpoints": "No endpoints",
    "test_source_ip": "Source IP and hairpin", "test_traffic_policy": "internalTrafficPolicy",
    "test_external_traffic_policy": "externalTrafficPolicy", "test_udp": "UDP and multi-port",
    "test_terminating": "Terminating endpoints", "test_service_changes": "Service changes",
}
INTENDED = "negative control: failed as intended"
KINDS = ("regression", "fix", "changed", "added", "removed")  # the order compare() sorts by


class EvidenceError(SvclabError):
    """The file given is not svclab evidence."""


@dataclass(frozen=True)
class Change:
    nodeid: str
    before: str | None  # outcome in the old evidence; None: the test was not there
    after: str | None  # outcome in the new evidence; None: the test is gone

    @property
    def kind(self) -> str:
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        if self.after == "failed":
            return "regression"
        return "fix" if self.before == "failed" else "changed"

    def line(self) -> str:
        return f"{self.kind}: {self.nodeid}: {self.before or 'absent'} -> {self.after or 'absent'}"


def load(path: Path | str) -> dict[str, Any]:
    """The evidence document at `path`, or EvidenceError in one sentence."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvidenceError(f"{path} is not readable JSON evidence ({exc}).") from None
    found = doc.get("format") if isinstance(doc, dict) else None
    if found != FORMAT or not isinstance(doc.get("tests"), list):
        raise EvidenceError(f"{path} is not svclab evidence: its format is {found!r}, expected {FORMAT!r} "
                            "(the evidence.json a run writes to its report dir).")
    doc.setdefault("lab", {})
    checked: dict[str, Any] = doc
    return checked


def behaviour(nodeid: str) -> str:
    """The Service behaviour a test proves, from its module's name."""
    stem = nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")
    return BEHAVIOURS.get(stem, stem)


def short_name(nodeid: str) -> str:
    return nodeid.split("::", 1)[-1]


def is_negative_control(nodeid: str) -> bool:
    return "negative_control" in short_name(nodeid)


def verdict_state(test: dict[str, Any], verdict: dict[str, Any]) -> str:
    """holds | intended (a negative control's failure inside a passing test) | broken."""
    if verdict.get("ok"):
        return "holds"
    return "intended" if is_negative_control(test["nodeid"]) and test["outcome"] == "passed" else "broken"


def first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    line = lines[0] if lines else ""
    return line.removeprefix("Skipped: ")


def summary_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per Service behaviour, in the order the tests ran."""
    rows: dict[str, dict[str, Any]] = {}
    for test in doc["tests"]:
        row = rows.setdefault(behaviour(test["nodeid"]), {"behaviour": behaviour(test["nodeid"]), "passed": 0,
                                                         "failed": 0, "skipped": 0, "controls": 0,
                                                         "seconds": 0.0})
        outcome = test["outcome"] if test["outcome"] in ("passed", "failed", "skipped") else "failed"
        if outcome == "passed" and is_negative_control(test["nodeid"]):
            row["controls"] += 1
        row[outcome] += 1
        row["seconds"] += float(test.get("seconds") or 0)
    for row in rows.values():
        row["status"] = "failed" if row["failed"] else "passed" if row["passed"] else "skipped"
    return list(rows.values())


def totals(doc: dict[str, Any]) -> dict[str, int]:
    rows = summary_rows(doc)
    return {k: sum(r[k] for r in rows) for k in ("passed", "failed", "skipped", "controls")}


def _code(text: str) -> str:
    """A Markdown code span that holds any text (so `<`, `*` and `|` stay literal)."""
    text = " ".join(str(text).split())
    fence = "`"
    while fence in text:
        fence += "`"
    return f"{fence} {text} {fence}" if text.startswith("`") or text.endswith("`") else f"{fence}{text}{fence}"


def render_markdown(doc: dict[str, Any]) -> str:
    lab, total = doc.get("lab", {}), totals(doc)
    lines = ["# svclab report", "",
             "**Lab:** " + " · ".join(f"{k} {_code(v)}" for k, v in lab_facts(lab) if k != "Node image"), "",
             f"**{total['failed']} failed**, {total['passed'] - total['controls']} passed, {total['controls']} "
             f"negative controls failed as intended, {total['skipped']} skipped.", "",
             "| Service behaviour | passed | failed | skipped | negative controls |", "|---|--:|--:|--:|--:|"]
    for r in summary_rows(doc):
        name = r["behaviour"].replace("|", "\\|")
        bad = f"**{r['failed']}**" if r["failed"] else "0"
        lines.append(f"| {name} | {r['passed'] - r['controls']} | {bad} | {r['skipped']} | {r['controls']} |")
    failed = [t for t in doc["tests"] if t["outcome"] not in ("passed", "skipped")]
    skipped = [t for t in doc["tests"] if t["outcome"] == "skipped"]
    if failed:
        lines += ["", "## Failures", ""]
        lines += [f"- {_code(t['nodeid'])}: {_code(first_line(t.get('message', '')))}" for t in failed]
    if skipped:
        lines += ["", "## Skipped", ""]
        lines += [f"- {_code(t['nodeid'])}: {_code(first_line(t.get('message', '')))}" for t in skipped]
    return "\n".join(lines) + "\n"


def chart(data: dict[str, Any]) -> dict[str, Any] | None:
    """Geometry of a horizontal bar chart of per-pod counts, or None without counts."""
    counts = data.get("counts")
    if not isinstance(counts, dict):
        return None
    names = sorted(set(counts) | {str(p) for p in data.get("pods") or []})
    if not names:
        return None
    values = [int(counts.get(n, 0)) for n in names]
    top, label_w, bar_w, row_h = max(max(values), 1), 190, 300, 24
    bars = [{"name": n, "count": v, "y": 8 + i * row_h, "w": round(bar_w * v / top, 1)}
            for i, (n, v) in enumerate(zip(names, values, strict=True))]
    even = sum(values) / len(values)
    return {"bars": bars, "label_w": label_w, "width": label_w + bar_w + 60, "height": 16 + len(bars) * row_h,
            "even_x": round(label_w + bar_w * even / top, 1) if len(values) > 1 and even else None, "even": even,
            "total": sum(values)}


def extras(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The data items besides counts and pods, as short text."""
    out = []
    for key, value in data.items():
        if key in ("counts", "pods"):
            continue
        text = f"{value:.4g}" if isinstance(value, float) else ", ".join(map(str, value)) \
            if isinstance(value, list) else json.dumps(value) if isinstance(value, dict) else str(value)
        out.append((key, text))
    return out


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Tests whose outcome differs, then added and removed ones; regressions first."""
    before = {t["nodeid"]: t["outcome"] for t in old["tests"]}
    after = {t["nodeid"]: t["outcome"] for t in new["tests"]}
    changes = [Change(n, before.get(n), after.get(n)) for n in sorted(set(before) | set(after))
               if before.get(n) != after.get(n)]
    return sorted(changes, key=lambda c: (KINDS.index(c.kind), c.nodeid))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("svclab", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(behaviour=behaviour, short_name=short_name, first_line=first_line, chart=chart,
                       extras=extras, verdict_state=verdict_state, is_negative_control=is_negative_control,
                       INTENDED=INTENDED)
    return env


def render_html(doc: dict[str, Any], previous: dict[str, Any] | None = None) -> str:
    groups: dict[str, list[dict[str, Any]]] = {}
    for test in doc["tests"]:
        groups.setdefault(behaviour(test["nodeid"]), []).append(test)
    return _environment().get_template("report.html.j2").render(
        doc=doc, lab=doc.get("lab", {}), facts=lab_facts(doc.get("lab", {})), rows=summary_rows(doc),
        total=totals(doc), groups=groups, previous=previous,
        anchors={t["nodeid"]: f"t{i}" for i, t in enumerate(doc["tests"], 1)},
        changes=compare(previous, doc) if previous is not None else [],
        failed=[t for t in doc["tests"] if t["outcome"] not in ("passed", "skipped")],
        skipped=[t for t in doc["tests"] if t["outcome"] == "skipped"])


def render(evidence: Path, previous: Path | None = None, out: Path | None = None) -> tuple[Path, Path]:
    """Write report.html and summary.md next to the evidence (or into `out`)."""
    doc = load(evidence)
    old = load(previous) if previous else None
    out = out or evidence.parent
    out.mkdir(parents=True, exist_ok=True)
    html, md = out / "report.html", out / "summary.md"
    html.write_text(render_html(doc, old), encoding="utf-8")
    md.write_text(render_markdown(doc), encoding="utf-8")
    return html, md


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m svclab.report", description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render", help="write report.html and summary.md from evidence.json")
    r.add_argument("evidence", type=Path)
    r.add_argument("--previous", type=Path, help="an older evidence.json to list changes against")
    r.add_argument("--out", type=Path, help="folder for the report (default: the evidence file's folder)")
    c = sub.add_parser("compare", help="print the changes between two evidence files, regressions first")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "render":
            for path in render(args.evidence, args.previous, args.out):
                print(f"wrote {path}")
        else:
            changes = compare(load(args.old), load(args.new))
            print("\n".join(c.line() for c in changes) if changes else "no changes")
    except EvidenceError as exc:
        print(f"svclab.report: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
