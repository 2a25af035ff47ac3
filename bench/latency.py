"""Benchmark (issue 15): programming latency per kube-proxy mode, one run per mode on this machine.

    python bench/latency.py [--modes ipvs iptables nftables] [--services 10 100 1000] [--reports DIR]

Runs suites/test_latency.py (`-m latency`) on a fresh lab per mode through `svclab run`, then reads
each mode's evidence and writes DIR/latency.md (p50/p99 per mode, Service count and path) and
DIR/latency.svg (p50 and p99 against the Service count, one line pair per mode).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

Point = tuple[int, float, float]  # (Services, p50, p99)


def results(evidence: Path) -> dict[str, list[Point]]:
    """path ("ClusterIP", "NodePort", "endpoint removed") -> points, from one mode's evidence."""
    doc = json.loads(evidence.read_text())
    found: dict[str, list[Point]] = {}
    for test in doc.get("tests", []):
        for v in test.get("verdicts", []):
            data = v.get("data") or {}
            if "latency" in data and "p50" in data and data.get("services", 0) > 0 and "control" not in data:
                found.setdefault(data["what"], []).append((data["services"], data["p50"], data["p99"]))
    return {what: sorted(points) for what, points in found.items()}


def drills(evidence: Path) -> list[dict[str, Any]]:
    """The zero-loss drills' streams (negative controls included: their loss is the proof)."""
    doc = json.loads(evidence.read_text())
    return [{**(v.get("data") or {}), "ok": v.get("ok")} for test in doc.get("tests", [])
            for v in test.get("verdicts", []) if "drill" in (v.get("data") or {})]


def drill_table(found: dict[str, list[dict[str, Any]]]) -> str:
    lines = ["| mode | drill | Kubernetes promises none lost | lost | by kind | clean again after |",
             "|---|---|---|---|---|---|"]
    for mode, rows in found.items():
        for d in rows:
            kinds = ", ".join(f"{k} {n}" for k, n in sorted((d.get("kinds") or {}).items())) or "-"
            clean = "never (in the stream)" if d.get("clean_after") is None else f"{d['clean_after']:.1f} s"
            control = " (control: no readiness probe)" if "control" in d else ""
            lines.append(f"| {mode} | {d['drill']}{control} | {'yes' if d.get('promised') else 'no'} | "
                         f"{d.get('lost')} of {d.get('requested')} | {kinds} | {clean} |")
    return "\n".join(lines) + "\n"


def table(modes: dict[str, dict[str, list[Point]]]) -> str:
    lines = ["| mode | path | Services | p50 s | p99 s |", "|---|---|---|---|---|"]
    for mode, paths in modes.items():
        for what, points in paths.items():
            lines += [f"| {mode} | {what} | {n} | {p50:.2f} | {p99:.2f} |" for n, p50, p99 in points]
    return "\n".join(lines) + "\n"


COLOURS = ("#0969da", "#cf222e", "#1a7f37", "#8250df")


def svg(modes: dict[str, dict[str, list[Point]]], what: str = "ClusterIP", width: int = 640, height: int = 360) -> str:
    """p50 (solid) and p99 (dashed) against log10(Services), one colour per mode. Hand-drawn: a
    few lines of SVG, where a plotting library would be a large dependency for one chart."""
    series = {mode: paths.get(what, []) for mode, paths in modes.items()}
    xs = [n for pts in series.values() for n, _, _ in pts] or [10]
    ys = [p for pts in series.values() for _, a, b in pts for p in (a, b)] or [1.0]
    left, right, top, bottom = 60, width - 130, 30, height - 40
    lo, hi = math.log10(min(xs)), math.log10(max(xs)) or 1.0
    top_y = max(ys) * 1.1 or 1.0

    def x(n: int) -> float:
        return left + (right - left) * ((math.log10(n) - lo) / ((hi - lo) or 1.0))

    def y(s: float) -> float:
        return bottom - (bottom - top) * s / top_y

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           f'font-size="12"><text x="{left}" y="18">{what}: seconds from the API change to the first answer '
           '(solid p50, dashed p99)</text>',
           f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#57606a"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#57606a"/>']
    for n in sorted(set(xs)):
        out.append(f'<text x="{x(n):.0f}" y="{bottom + 16}" text-anchor="middle">{n}</text>')
    for k in range(5):
        s = top_y * k / 4
        out.append(f'<text x="{left - 6}" y="{y(s) + 4:.0f}" text-anchor="end">{s:.1f}</text>')
    for i, (mode, pts) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        for col, dash in ((1, ""), (2, ' stroke-dasharray="5 4"')):
            path = " ".join(f"{x(p[0]):.1f},{y(p[col]):.1f}" for p in pts)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{right + 10}" y="{top + 18 * i + 10}" fill="{colour}">{mode}</text>')
    out.append(f'<text x="{(left + right) / 2:.0f}" y="{height - 6}" text-anchor="middle">Services in the lab'
               '</text></svg>')
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--modes", nargs="+", default=["ipvs", "iptables", "nftables"])
    parser.add_argument("--services", nargs="+", type=int, default=[10, 100, 1000])
    parser.add_argument("--reports", type=Path, default=Path("reports-latency"))
    args = parser.parse_args()
    env = {**os.environ, "SVCLAB_LATENCY_SERVICES": " ".join(map(str, args.services))}
    for mode in args.modes:
        subprocess.call([sys.executable, "-m", "svclab", "run", "--modes", mode, "--reports", str(args.reports),
                         "-m", "latency"], env=env)
    modes: dict[str, dict[str, Any]] = {}
    streams: dict[str, list[dict[str, Any]]] = {}
    for mode in args.modes:
        evidence = args.reports / mode / "evidence.json"
        if evidence.exists():
            modes[mode], streams[mode] = results(evidence), drills(evidence)
    text = (f"machine: {platform.node()}, {os.cpu_count()} cores\n\n" + table(modes) + "\n"
            + drill_table(streams))
    (args.reports / "latency.md").write_text(text)
    (args.reports / "latency.svg").write_text(svg(modes))
    print(text)
    return 0 if modes else 1


if __name__ == "__main__":
    sys.exit(main())
