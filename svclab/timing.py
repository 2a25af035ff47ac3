"""Where a run's time goes: seconds per suite module in each lab, side by side, read from the
junit files pytest wrote. pytest's junit time of a test includes its setup and teardown, so a
module's figure carries its module fixtures (the first module run carries the lab's creation).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path


def module_of(classname: str) -> str:
    """`suites.test_affinity` or `suites.test_affinity.TestX` -> `test_affinity`."""
    parts = classname.split(".")
    return next((p for p in parts if p.startswith("test_")), parts[-1] or "?")


def module_seconds(junit: Path) -> dict[str, float]:
    """Seconds per suite module, in the order the modules ran."""
    if not junit.exists():
        return {}
    out: dict[str, float] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = module_of(case.get("classname", ""))
        out[module] = out.get(module, 0.0) + float(case.get("time") or 0.0)
    return out


def time_table(labs: dict[str, dict[str, float]]) -> list[str]:
    """A markdown table, modules by the most time any lab spent on them, a total row, and the
    first lab's total as a ratio of each other's (svclab's run puts IPVS first)."""
    labs = {lab: seconds for lab, seconds in labs.items() if seconds}
    if not labs:
        return []
    names = list(labs)
    modules = sorted({m for seconds in labs.values() for m in seconds},
                     key=lambda m: -max(s.get(m, 0.0) for s in labs.values()))
    lines = ["| module | " + " | ".join(f"{n} (s)" for n in names) + " |", "|---" * (len(names) + 1) + "|"]
    for module in modules:
        cells = [f"{labs[n][module]:.0f}" if module in labs[n] else "-" for n in names]
        lines.append(f"| {module} | " + " | ".join(cells) + " |")
    totals = {n: sum(labs[n].values()) for n in names}
    lines.append("| total | " + " | ".join(f"**{totals[n]:.0f}**" for n in names) + " |")
    first, others = names[0], [n for n in names[1:] if totals[n]]
    if others:
        ratios = ", ".join(f"{totals[first] / totals[n]:.2f}x that of {n}" for n in others)
        lines += ["", f"The {first} lab's suites took {ratios} (sums of the tests' junit times)."]
    return lines
