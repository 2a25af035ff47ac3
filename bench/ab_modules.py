"""A paired A/B of two commits on one kept lab, in one sitting: the same suite modules run with
commit A's code, then B's, then A's and B's again (ABAB), and each module's junit seconds are
compared. A warm-up smoke run creates the lab and every round reuses it, so what differs
between the arms is the code under test, not the lab or the machine's hour. An arm that fails
is printed as such and makes the comparison void (a failing run's time says nothing).

    python bench/ab_modules.py --a main --b wip/issue15-vm-pods --proxy-mode ipvs \\
        suites/test_readiness.py suites/test_dns.py suites/test_clusterip.py

Each arm runs from a git worktree of its commit under /tmp/svclab-ab/ (`python -m pytest` puts
that worktree first on sys.path, so its svclab package is the one imported). The lab is kept
(--keep-lab) as kind:svclab-ab; `python -m svclab down` removes it afterwards.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from svclab.timing import module_seconds  # the checkout's own package, not an installed one

ROOT = Path("/tmp/svclab-ab")
REPO = Path(__file__).resolve().parents[1]


def worktree(ref: str, name: str) -> Path:
    path = ROOT / name
    subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=REPO, capture_output=True)
    subprocess.run(["git", "worktree", "add", "--detach", str(path), ref], cwd=REPO, check=True, capture_output=True)
    return path


def run_arm(tree: Path, modules: list[str], mode: str, junit: Path) -> tuple[int, float]:
    argv = [sys.executable, "-m", "pytest", *modules, "-q", "-p", "no:cacheprovider", "-p", "no:pytest-kind",
            "--proxy-mode", mode, "--lab", "kind:svclab-ab", "--keep-lab", "--junitxml", str(junit),
            "--svclab-report-dir", str(junit.parent / "report")]
    start = time.monotonic()
    rc = subprocess.call(argv, cwd=tree)
    return rc, time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", required=True, help="commit or branch of arm A")
    parser.add_argument("--b", required=True, help="commit or branch of arm B")
    parser.add_argument("--proxy-mode", default="ipvs")
    parser.add_argument("--rounds", type=int, default=2, help="AB pairs (default 2: ABAB)")
    parser.add_argument("modules", nargs="+", help="suite files, relative to the repository")
    args = parser.parse_args()
    trees = {"A": worktree(args.a, "A"), "B": worktree(args.b, "B")}
    totals: dict[str, list[float]] = {"A": [], "B": []}
    per_module: dict[str, dict[str, float]] = {"A": {}, "B": {}}
    failed: list[str] = []
    warm = ROOT / "warm-up" / "junit.xml"
    warm.parent.mkdir(parents=True, exist_ok=True)
    rc, wall = run_arm(trees["A"], ["suites/test_smoke.py"], args.proxy_mode, warm)  # creates the lab
    print(f"warm-up (lab created or reused, smoke with A): exit {rc}, {wall:.0f} s wall")
    for k in range(args.rounds):
        for arm in ("A", "B"):
            junit = ROOT / f"{arm}{k}" / "junit.xml"
            junit.parent.mkdir(parents=True, exist_ok=True)
            rc, wall = run_arm(trees[arm], args.modules, args.proxy_mode, junit)
            seconds = module_seconds(junit)
            print(f"round {k} {arm}: exit {rc}, {wall:.0f} s wall, {sum(seconds.values()):.0f} s in tests")
            if rc != 0:
                failed.append(f"round {k} {arm} (exit {rc})")
            totals[arm].append(sum(seconds.values()))
            for module, s in seconds.items():
                per_module[arm][module] = per_module[arm].get(module, 0.0) + s
    print("\n| module | A (s, summed) | B (s, summed) |\n|---|---|---|")
    for module in per_module["B"]:
        print(f"| {module} | {per_module['A'].get(module, 0):.0f} | {per_module['B'][module]:.0f} |")
    a, b = totals["A"], totals["B"]
    if failed:
        print(f"\nno comparison: {', '.join(failed)} failed; see {ROOT}")
        return 1
    if a and b:
        print(f"\nA {[round(x) for x in a]} s, B {[round(x) for x in b]} s; B/A = {sum(b) / sum(a):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
