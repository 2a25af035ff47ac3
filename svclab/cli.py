"""`svclab run`: the suites against a lab per kube-proxy mode, with a summary of each.

A mode this host cannot run (IPVS without ip_vs in the kernel) is reported as not
run, with the host's reason, never as passed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from svclab import matrix, migration, report, timing
from svclab.core import progress, tools
from svclab.core.assets import repo_root
from svclab.core.catalog import DEFAULT_MINOR, PIN_TABLE, PINS, pins_for
from svclab.core.errors import SvclabError
from svclab.core.spec import PROXY_MODES, LabSpec
from svclab.labs import hostcheck
from svclab.report import EvidenceError


@dataclass
class ModeRun:
    mode: str  # the lab's label: its kube-proxy mode, and its Kubernetes minor when not the default alone
    status: str  # passed | failed | not run
    reason: str = ""
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    skips: list[str] = field(default_factory=list)
    modules: dict[str, float] = field(default_factory=dict)  # suite module -> seconds (junit)


def junit_counts(path: Path) -> tuple[dict[str, int], list[str]]:
    if not path.exists():
        return {}, []
    root = ET.parse(path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    if suite is None:
        return {}, []
    counts = {k: int(suite.get(k, "0")) for k in ("tests", "failures", "errors", "skipped")}
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    skips = [f"{case.get('name')}: {skip.get('message', '')}"
             for case in suite.iter("testcase") for skip in case.iter("skipped")]
    return counts, skips


def lab_label(mode: str, kubernetes: str, versions: list[str]) -> str:
    """A lab's name under --reports: its mode (`ipvs`), with the minor (`ipvs-1.37`) when the run
    is not of the default version alone."""
    return mode if versions == [PINS.kubernetes] else f"{mode}-{pins_for(kubernetes).minor}"


def run_mode(mode: str, reports: Path, extra: list[str], lab: str = "", kubernetes: str = PINS.kubernetes,
             label: str = "") -> ModeRun:
    """The suites in one mode and Kubernetes version, on `lab` (a --lab spec; default
    kind:svclab-<label>), written under reports/<label>."""
    from svclab.labs.kind import host_problems

    label = label or mode
    lab = lab or f"kind:svclab-{label.replace('.', '-')}"
    if lab.startswith("kind"):
        spec = LabSpec(name=lab.partition(":")[2] or "svclab", proxy_mode=mode, kubernetes_version=kubernetes)
        problems, _ = host_problems(spec, hostcheck.gather(), tools.state_dir(spec.name, create=False))
        if problems:
            return ModeRun(label, "not run", " ".join(problems))
    junit = reports / label / "junit.xml"
    evidence = reports / label / "evidence.json"
    previous = reports / label / "evidence.previous.json"
    if evidence.exists():
        evidence.replace(previous)  # last run's evidence: the report shows what changed since
    argv = [sys.executable, "-m", "pytest", str(repo_root() / "suites"), "-p", "no:cacheprovider",
            "-p", "no:pytest-kind", "--proxy-mode", mode, "--k8s-version", kubernetes, "--lab", lab,
            "--junitxml", str(junit), "--svclab-report-dir", str(reports / label), "-o", "junit_family=xunit1",
            "-q", *extra]
    progress.say(f"suites with kube-proxy in {mode} mode, Kubernetes {kubernetes}: {' '.join(argv[1:])}")
    start = time.monotonic()
    rc = subprocess.call(argv)
    counts, skips = junit_counts(junit)
    if evidence.exists():
        html, _ = report.render(evidence, previous if previous.exists() else None)
        progress.say(f"report for {label}: {html}")
    status = "passed" if rc == 0 and counts.get("passed", 0) > 0 else "failed"
    reason = "" if status == "passed" else f"pytest exit code {rc}" + (" (no tests ran)" if rc == 5 else "")
    return ModeRun(label, status, reason, time.monotonic() - start, counts, skips,
                   timing.module_seconds(junit))


def summary(runs: list[ModeRun]) -> str:
    lines = ["# svclab run", "", "| lab | result | passed | failed | skipped | seconds |",
             "|---|---|---|---|---|---|"]
    for r in runs:
        c = r.counts
        bad = c.get("failures", 0) + c.get("errors", 0)
        lines.append(f"| {r.mode} | {r.status} | {c.get('passed', '-')} | {bad if c else '-'} | "
                     f"{c.get('skipped', '-')} | {r.seconds:.0f} |")
    for r in runs:
        if r.reason:
            lines += ["", f"**{r.mode}: {r.status}.** {r.reason}"]
        if r.skips:
            lines += ["", f"Skipped in {r.mode}:", *(f"- {s}" for s in r.skips)]
    table = timing.time_table({r.mode: r.modules for r in runs})
    if table:
        lines += ["", "## Where the time went", "", *table]
    return "\n".join(lines) + "\n"


def compare_labs(before: str, after: str, reports: Path) -> int:
    try:
        out = migration.write(before, after, reports)
    except EvidenceError as exc:
        print(f"svclab compare-labs: {exc}", file=sys.stderr)
        return 2
    print(out.read_text())
    progress.say(f"written to {out}")
    return 0


def rewrite_matrix(reports: Path, labs: list[str]) -> int:
    labs = labs or sorted(p.parent.name for p in reports.glob("*/evidence.json"))
    missing = [lab for lab in labs if not (reports / lab / "evidence.json").exists()]
    if missing or not labs:
        print(f"svclab matrix: no evidence.json under {reports} for {', '.join(missing) or 'any lab'}.",
              file=sys.stderr)
        return 2
    written = matrix.write(reports, labs, sorted(p.name for p in reports.glob("migration-*.md")))
    print(written[0].read_text())
    progress.say(f"written: {', '.join(str(w) for w in written)}")
    return 0


def cluster_state(kubeconfig: Path, save: Path | None, against: Path | None) -> int:
    """Snapshot what a cluster holds outside svclab's namespaces; compare with an earlier one."""
    import json

    from svclab.core.kubectl import Kubectl
    from svclab.observe import clusterstate

    if not kubeconfig.is_file():
        print(f"svclab cluster-state: the kubeconfig {kubeconfig} does not exist.", file=sys.stderr)
        return 2
    now = clusterstate.snapshot(Kubectl(kubeconfig, tools.binary("kubectl")))
    if save:
        save.write_text(json.dumps(now, indent=1, sort_keys=True))
        progress.say(f"{len(now)} objects written to {save}")
    if against:
        changed = clusterstate.differences(json.loads(against.read_text()), now)
        print("\n".join(changed) or f"identical to {against} ({len(now)} objects)")
        return 1 if changed else 0
    return 0


def take_down(names: list[str]) -> int:
    from svclab.labs import kept

    try:  # listing needs kind and Docker: a HostError is one sentence here too
        up = [] if names else kept.kept_labs()
        busy = [n for n in up if kept.busy(n)]
        targets = names or [n for n in up if n not in busy]
        for name in targets:
            kept.take_down(name)
    except SvclabError as exc:
        print(f"svclab down: {exc}", file=sys.stderr)
        return 2
    print(f"taken down: {', '.join(targets)}" if targets else "svclab down: nothing to take down")
    if busy:
        print(f"left alone, in use by a running svclab: {', '.join(busy)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="svclab")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the suites against a lab per kube-proxy mode",
                         epilog="Any other argument goes to pytest as it is (e.g. -k dns, -x, -n 2).")
    run.add_argument("--modes", nargs="+", choices=PROXY_MODES, default=list(PROXY_MODES),
                     help="the kube-proxy modes to run, one lab each (default: all three)")
    run.add_argument("--k8s-versions", nargs="+", default=[DEFAULT_MINOR], metavar="VERSION",
                     help=f"the Kubernetes versions, one lab per mode each: {', '.join(PIN_TABLE)} (each its "
                          f"pinned patch; default {DEFAULT_MINOR}); with more than the default, each lab is "
                          "named <mode>-<minor>")
    run.add_argument("--reports", type=Path, default=Path("reports"),
                     help="writes summary.md and <lab>/report.html, evidence.json, junit.xml, where <lab> is "
                          "the mode, or <mode>-<minor> beside --k8s-versions (default: reports)")
    run.add_argument("--require-all", action="store_true",
                     help="a mode this host cannot run fails the job instead of being reported (CI)")
    run.add_argument("--lab", default="", help="the lab, as pytest's --lab takes it (kind:NAME or "
                     "existing:KUBECONFIG); needs exactly one --modes (default: kind:svclab-<mode> per mode)")
    run.add_argument("--keep-lab", action="store_true", help="keep each lab afterwards; the next run reuses it")
    compare = sub.add_parser("compare-labs", help="what a workload sees change from one lab to another",
                             description=(migration.__doc__ or "").split("\n\n")[0])
    compare.add_argument("before", help="a lab's name under --reports (e.g. ipvs), or an evidence.json")
    compare.add_argument("after", help="the lab moved to (e.g. nftables), or an evidence.json")
    compare.add_argument("--reports", type=Path, default=Path("reports"),
                         help="where the runs wrote (default: reports)")
    table = sub.add_parser("matrix", help="the behaviour matrix again, from runs' evidence (say, runs of "
                           "different days or versions)")
    table.add_argument("labs", nargs="*", help="labs under --reports (default: every folder with an evidence.json)")
    table.add_argument("--reports", type=Path, default=Path("reports"), help="where the runs wrote (default: reports)")
    run.add_argument("--allow-cluster-changes", action="store_true",
                     help="with --lab existing:..., also run the checks that change cluster-scoped state "
                          "(each undone after; recorded in the report)")
    state = sub.add_parser("cluster-state", help="snapshot a cluster's state outside svclab's namespaces, "
                           "or compare it with an earlier snapshot (exit 1 when it differs)")
    state.add_argument("kubeconfig", type=Path)
    state.add_argument("--save", type=Path, help="write the snapshot (JSON) here")
    state.add_argument("--against", type=Path, help="an earlier snapshot: print what differs from it")
    sub.add_parser("images", add_help=False, help="build every lab image here, or export/push the workloads' "
                   "images for a cluster of yours (`svclab images --help`)")
    down = sub.add_parser("down", help="take down the labs kept with --keep-lab (or left by a killed run)",
                          description="Take down svclab's labs on this machine without running a test: the "
                          "kind cluster, the IPVS VM, the outside clients, the lab network and its fence. A kind "
                          "cluster svclab did not make is never touched.")
    down.add_argument("names", nargs="*", help="the labs to take down (default: every svclab lab that is up)")
    from svclab.drill import cli as drill_cli

    drill_cli.add_parser(sub)
    args, unknown = parser.parse_known_args(argv)
    if args.command == "images":  # the image factory's own command line, as python -m svclab.images
        from svclab.images.__main__ import main as images_main

        return images_main(unknown)
    if args.command in ("drill", "compare-labs", "cluster-state", "down", "matrix") and unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command == "drill":
        return drill_cli.run(args)
    if args.command == "compare-labs":
        return compare_labs(args.before, args.after, args.reports)
    if args.command == "matrix":
        return rewrite_matrix(args.reports, args.labs)
    if args.command == "cluster-state":
        return cluster_state(args.kubeconfig, args.save, args.against)
    if args.command == "down":
        return take_down(args.names)
    try:
        versions = list(dict.fromkeys(pins_for(v).kubernetes for v in args.k8s_versions))
    except SvclabError as exc:
        parser.error(str(exc))
    if args.keep_lab and len(args.modes) * len(versions) > 1:
        parser.error(f"--keep-lab keeps one lab, and this run makes {len(args.modes) * len(versions)}: every lab "
                     "uses the same lab network, so the next would clash with the kept one (give one mode and version)")
    if args.lab and len(args.modes) * len(versions) != 1:
        parser.error(f"--lab {args.lab} is one lab: give it one mode (--modes iptables, say) and one version")
    extra = [*(["--keep-lab"] if args.keep_lab else []),
             *(["--allow-cluster-changes"] if args.allow_cluster_changes else []), *(a for a in unknown if a != "--")]
    args.reports.mkdir(parents=True, exist_ok=True)
    plan = [(mode, v, lab_label(mode, v, versions)) for v in versions for mode in args.modes]
    runs = [run_mode(mode, args.reports, extra, args.lab, v, label) for mode, v, label in plan]
    text = summary(runs)
    labs_ran = [step for step, r in zip(plan, runs, strict=True)  # this run's evidence only
                if r.status != "not run" and (args.reports / step[2] / "evidence.json").exists()]
    moves = [migration.write(a, b, args.reports) for a, b in migration.run_pairs(labs_ran)]
    written = matrix.write(args.reports, [label for _, _, label in labs_ran], [m.name for m in moves])
    if written:
        md, js, page = (w.name for w in written)
        text += f"\nWhat differs between the labs, check by check: {md} ({page}, {js}).\n"
    if moves:
        text += f"What a workload sees change moving between them: {', '.join(m.name for m in moves)}.\n"
    (args.reports / "summary.md").write_text(text)
    print(text)
    ran = [r for r in runs if r.status != "not run"]
    if args.require_all and len(ran) < len(runs):
        return 1
    return 0 if ran and all(r.status == "passed" for r in ran) else 1


if __name__ == "__main__":
    sys.exit(main())
