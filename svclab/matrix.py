"""The behaviour matrix of a run: every check, grouped by Service behaviour, one column per lab,
each cell the observed outcome with its key figure, and "differs" where the labs disagree.

Built only from the evidence each lab's run wrote (`<reports>/<lab>/evidence.json`), written as
Markdown, as JSON (schema: docs/matrix.schema.json) and as one HTML page linking each lab's report.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import jinja2

from svclab.report import behaviour, load, short_name

FORMAT = "svclab-matrix/1"
FIGURE_CHARS = 60


@dataclass(frozen=True)
class Cell:
    outcome: str  # passed | failed | skipped | absent (the lab's run had no such check)
    figure: str  # the key figure: "100/100/100", "random, p=0.76", "3 entries", a skip's reason
    # what was found where the outcome alone does not say it (both labs pass, one warns): compared
    finding: str = ""

    def text(self) -> str:
        """"passed: 100/100/100"; with a finding, it leads: "passed: stays past the timeout (8)"."""
        shown = f"{self.finding} ({self.figure})" if self.finding and self.figure else self.finding or self.figure
        return f"{self.outcome}: {shown}" if shown else self.outcome


@dataclass(frozen=True)
class Row:
    behaviour: str
    check: str
    cells: dict[str, Cell]  # lab -> cell

    @property
    def differs(self) -> bool:
        return len({(c.outcome, c.finding) for c in self.cells.values()}) > 1


def main_verdict(test: dict[str, Any]) -> dict[str, Any] | None:
    """The verdict that decided the test: its first failing one, else its last."""
    verdicts = test.get("verdicts") or []
    bad = [v for v in verdicts if not v.get("ok") and "control" not in (v.get("data") or {})]
    return bad[0] if bad else (verdicts[-1] if verdicts else None)


def finding(test: dict[str, Any]) -> str:
    """What the check found, in words; none for a negative control, whose verdict's finding names
    the claim it refuted, not what the lab does."""
    main = main_verdict(test) if test["outcome"] != "skipped" else None
    data = (main.get("data") or {}) if main else {}
    return "" if "control" in data else str(data.get("finding", ""))


def key_figure(test: dict[str, Any]) -> str:
    """The figure that says most about a check: its main verdict's counts or statistics."""
    if test["outcome"] == "skipped":
        return first_reason(test.get("message", ""))
    main = main_verdict(test)
    if main is None:
        return ""
    data = main.get("data") or {}
    if isinstance(data.get("p"), float):
        return f"random, p={data['p']:.2f}"
    if isinstance(data.get("counts"), dict) and data["counts"]:
        figure = "/".join(str(n) for n in data["counts"].values())
        return f"{figure} (control)" if "control" in data else figure
    if isinstance(data.get("entries"), list):
        return f"{len(data['entries'])} entries ({data.get('mode', '?')})"
    return clip(str(main.get("observed", "")))


def first_reason(message: str) -> str:
    """A skip's reason without the mode in force (the column says which lab it is)."""
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    reason = lines[0].removeprefix("Skipped: ") if lines else ""
    return clip(reason.split("; this lab runs kube-proxy in")[0])


def clip(text: str) -> str:
    return text if len(text) <= FIGURE_CHARS else text[:FIGURE_CHARS - 1].rstrip() + "…"


def build(docs: dict[str, dict[str, Any]]) -> list[Row]:
    """Rows in the order the checks first ran, from {lab: evidence document}."""
    order: dict[str, str] = {}
    per_lab: dict[str, dict[str, dict[str, Any]]] = {}
    for lab, doc in docs.items():
        per_lab[lab] = {}
        for test in doc.get("tests", []):
            check = short_name(test["nodeid"])
            order.setdefault(check, behaviour(test["nodeid"]))
            per_lab[lab][check] = test
    rows = []
    for check, group in order.items():
        cells = {lab: Cell(t["outcome"], key_figure(t), finding(t)) if (t := per_lab[lab].get(check))
                 else Cell("absent", "")
                 for lab in docs}
        rows.append(Row(group, check, cells))
    groups = list(dict.fromkeys(order.values()))
    return sorted(rows, key=lambda r: groups.index(r.behaviour))  # stable: run order within a group


def markdown(rows: Sequence[Row], labs: Sequence[str]) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["# Behaviour matrix", "",
             f"{sum(r.differs for r in rows)} of {len(rows)} checks differ between {', '.join(labs)}.", "",
             "| behaviour | check | " + " | ".join(labs) + " | differs |",
             "|---|---|" + "---|" * len(labs) + "---|"]
    for r in rows:
        cells = " | ".join(esc(r.cells[lab].text()) for lab in labs)
        lines.append(f"| {esc(r.behaviour)} | {esc(r.check)} | {cells} | {'**differs**' if r.differs else ''} |")
    return "\n".join(lines) + "\n"


def document(rows: Sequence[Row], docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"format": FORMAT,
            "labs": [{"name": lab, "report": f"{lab}/report.html", "facts": doc.get("lab", {})}
                     for lab, doc in docs.items()],
            "rows": [{"behaviour": r.behaviour, "check": r.check, "differs": r.differs,
                      "cells": {lab: asdict(c) for lab, c in r.cells.items()}} for r in rows]}


def write(reports: Path, labs: Sequence[str], moves: Sequence[str] = ()) -> list[Path]:
    """matrix.md, matrix.json and index.html under reports/, from each lab's evidence there;
    `moves`: the migration reports beside them, linked from the page."""
    docs = {lab: load(reports / lab / "evidence.json") for lab in labs if (reports / lab / "evidence.json").exists()}
    if not docs:
        return []
    rows = build(docs)
    names = list(docs)
    out = [reports / "matrix.md", reports / "matrix.json", reports / "index.html"]
    out[0].write_text(markdown(rows, names))
    out[1].write_text(json.dumps(document(rows, docs), indent=1))
    env = jinja2.Environment(loader=jinja2.PackageLoader("svclab", "templates"), autoescape=True)
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(r.behaviour, []).append(r)
    out[2].write_text(env.get_template("matrix.html.j2").render(rows=rows, groups=list(groups.items()), labs=names,
                                                                docs=docs, differ=sum(r.differs for r in rows),
                                                                moves=moves))
    return out
