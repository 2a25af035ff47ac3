"""Where a suite run's wall time goes, from a py-spy profile of the pytest process.

    py-spy record --idle --format raw -r 4 -o ipvs.txt -- python -m pytest suites --proxy-mode ipvs ...
    python bench/where_time_goes.py ipvs.txt [iptables.txt]

py-spy (a sampling profiler, on PyPI) samples the stacks of every thread, idle ones too, so
waiting on a subprocess (kubectl exec, ssh) counts as the wait it is. Each sample is put on
the deepest svclab frame in its stack (what svclab was doing), and on the suite frame above it
(which test or fixture); the tables give seconds (samples / rate) for the main thread only.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

FRAME = re.compile(r"^(?P<func>[^ ]+) \((?P<file>[^:]+):\d+\)$")


def frames(stack: str) -> list[tuple[str, str]]:
    out = []
    for part in stack.split(";"):
        found = FRAME.match(part.strip())
        if found:
            out.append((found["func"], found["file"]))
    return out


def ours(file: str, folder: str) -> bool:
    """py-spy shortens paths: svclab/harness/jig.py for the package, test_x.py for a suite."""
    if folder == "suites":
        return Path(file).name.startswith("test_") or file.endswith("conftest.py")
    return file.startswith(f"{folder}/") or f"/{folder}/" in file


def attribute(profile: Path, rate: float) -> tuple[dict[str, float], dict[str, float]]:
    """(seconds by svclab function, seconds by suite function) of the main thread."""
    by_leaf: dict[str, float] = {}
    by_test: dict[str, float] = {}
    for line in profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        # without --threads py-spy names no thread: other threads start in threading's _bootstrap
        if not stack or "_bootstrap (" in stack.split(";")[0]:
            continue
        seconds = int(count) / rate
        found = frames(stack)
        # the deepest svclab frame above svclab.core (which only runs commands and waits)
        leaf = next((f"{Path(file).stem}.{func}" for func, file in reversed(found)
                     if ours(file, "svclab") and not file.startswith("svclab/core/")), "other")
        test = next((f"{Path(file).stem}.{func}" for func, file in reversed(found) if ours(file, "suites")), "setup")
        by_leaf[leaf] = by_leaf.get(leaf, 0.0) + seconds
        by_test[test] = by_test.get(test, 0.0) + seconds
    return by_leaf, by_test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profiles", nargs="+", type=Path)
    parser.add_argument("--rate", type=float, default=4.0, help="py-spy's samples per second (-r)")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    tables = [attribute(p, args.rate) for p in args.profiles]
    for index, title in ((0, "svclab function"), (1, "suite function")):
        first = tables[0][index]
        print(f"\n{title:60}" + "".join(f"{p.stem:>12}" for p in args.profiles))
        for name in sorted(first, key=lambda n: -first[n])[:args.top]:
            print(f"{name[:60]:60}" + "".join(f"{t[index].get(name, 0.0):12.0f}" for t in tables))
        print(f"{'total':60}" + "".join(f"{sum(t[index].values()):12.0f}" for t in tables))


if __name__ == "__main__":
    main()
