"""What a workload sees change when it moves from one lab to another (one kube-proxy mode to
another, or one Kubernetes version to the next), from the two runs' evidence only.

`svclab compare-labs ipvs nftables` reads `<reports>/ipvs/evidence.json` and
`<reports>/nftables/evidence.json` (or two evidence.json paths) and writes
`<reports>/migration-ipvs-to-nftables.md`: the lab facts that differ, then per Service behaviour
the checks that hold only before the move (what the workload loses), only after it (what it
gains), and those that fail on either side, each with the observation that shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from svclab.labfacts import FACT_TEXT
from svclab.matrix import Cell, Row, build
from svclab.report import EvidenceError, load

FACTS = ("kubernetes", "proxy_mode_configured", "proxy_mode_observed", "ipvs_scheduler", "kernel", "node_image",
         "dataplane_nodes")


@dataclass(frozen=True)
class Move:
    kind: str  # "lost", "gained", "broken before", "broken after", "changed"
    row: Row
    before: Cell
    after: Cell


def evidence_path(name: str, reports: Path) -> Path:
    """A lab name under the reports folder, or a path to an evidence.json."""
    given = Path(name)
    return given if given.suffix == ".json" else reports / name / "evidence.json"


def moves(rows: list[Row], before: str, after: str) -> list[Move]:
    found = []
    for r in rows:
        a, b = r.cells[before], r.cells[after]
        if (a.outcome, a.finding) == (b.outcome, b.finding):
            continue
        if a.outcome == b.outcome:
            kind = "changed"
        elif b.outcome == "failed":
            kind = "broken after"
        elif a.outcome == "failed":
            kind = "broken before"
        elif a.outcome == "passed":
            kind = "lost"
        elif b.outcome == "passed":
            kind = "gained"
        else:
            kind = "changed"
        found.append(Move(kind, r, a, b))
    return found


def fact_lines(lab_a: dict[str, Any], lab_b: dict[str, Any]) -> list[str]:
    lines = [f"- {key}: `{lab_a.get(key)}` -> `{lab_b.get(key)}`" for key in FACTS if lab_a.get(key) != lab_b.get(key)]
    for key in ("components", "node_versions", "deprecations"):
        if key in lab_a and key in lab_b and lab_a[key] != lab_b[key]:
            lines.append(f"- {key}: `{FACT_TEXT[key](lab_a[key])}` -> `{FACT_TEXT[key](lab_b[key])}`")
    return lines + gate_lines(lab_a.get("feature_gates") or {}, lab_b.get("feature_gates") or {})


def gate_lines(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> list[str]:
    """Feature gates as the API servers report them: listed where a gate turns on or off, becomes
    deprecated, or comes or goes deprecated (or alpha and on); other stage changes are counted."""
    if not (a and b):
        return []

    def state(gate: dict[str, Any] | None) -> str:
        return f"{gate['stage']} {'on' if gate['enabled'] else 'off'}" if gate else "absent"

    def notable(g: str) -> bool:
        if g in a and g in b:
            return bool(a[g]["enabled"] != b[g]["enabled"] or (b[g]["stage"] == "DEPRECATED") != (
                a[g]["stage"] == "DEPRECATED"))
        gate = a.get(g) or b[g]
        return bool(gate["stage"] == "DEPRECATED" or (gate["stage"] == "ALPHA" and gate["enabled"]))

    changed = sorted(g for g in {*a, *b} if a.get(g) != b.get(g))
    listed = [g for g in changed if notable(g)]
    lines = [f"- feature gate {g}: `{state(a.get(g))}` -> `{state(b.get(g))}`" for g in listed]
    if len(changed) > len(listed):
        lines.append(f"- feature gates: {len(changed) - len(listed)} more changed stage only, or came or went "
                     "(each in the evidence's lab facts)")
    return lines

WHAT = {"lost": "Holds before the move, not after (the workload loses it)",
        "gained": "Holds only after the move (the workload gains it)",
        "broken after": "Fails after the move", "broken before": "Fails before the move (fixed by it)",
        "changed": "Otherwise different"}


def markdown(before: str, after: str, docs: dict[str, dict[str, Any]]) -> str:
    found = moves(build(docs), before, after)
    lines = [f"# Moving from {before} to {after}", "",
             f"From the evidence of both runs: {len(found)} checks differ.", "", "## The labs"]
    lines += fact_lines(docs[before].get("lab", {}), docs[after].get("lab", {})) or ["- no lab fact differs"]
    for kind, title in WHAT.items():
        picked = [m for m in found if m.kind == kind]
        if not picked:
            continue
        lines += ["", f"## {title}"]
        for m in picked:
            lines.append(f"- **{m.row.behaviour}**, `{m.row.check}`: {before}: {m.before.text()}; "
                         f"{after}: {m.after.text()}")
    return "\n".join(lines) + "\n"


def label(name: str) -> str:
    """A lab's name: as given, or the folder holding the evidence.json given."""
    return Path(name).parent.name if name.endswith(".json") else name


def write(before: str, after: str, reports: Path) -> Path:
    """The report for the move; EvidenceError (one sentence) when a run's evidence is missing."""
    a, b = label(before), label(after)
    if a == b:
        raise EvidenceError(f"compare two different labs, not {a} with itself")
    docs = {a: load(evidence_path(before, reports)), b: load(evidence_path(after, reports))}
    out = reports / f"migration-{a}-to-{b}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown(a, b, docs))
    return out


def run_pairs(ran: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """The moves one run can show, from its labs (mode, version, label) that ran: IPVS to nftables
    (the deprecation's way out) at each version, then each mode from its oldest version to its newest."""
    pairs = []
    by_key = {(mode, version): label for mode, version, label in ran}
    for version in dict.fromkeys(v for _, v, _ in ran):
        if ("ipvs", version) in by_key and ("nftables", version) in by_key:
            pairs.append((by_key["ipvs", version], by_key["nftables", version]))
    for mode in dict.fromkeys(m for m, _, _ in ran):
        labels = [label for m, _, label in ran if m == mode]
        if len(labels) > 1:
            pairs.append((labels[0], labels[-1]))
    return pairs
