"""`svclab drill`: the drill catalogue against one lab per kube-proxy mode."""

from __future__ import annotations

import argparse
from pathlib import Path

from svclab.core import progress
from svclab.core.errors import SvclabError
from svclab.core.spec import PROXY_MODES, LabSpec, parse_lab, validate
from svclab.drill.catalogue import Drill, by_name, describe
from svclab.drill.runner import Outcome, drill_once, pytest_run, write
from svclab.harness.live import open_lab
from svclab.labs import Lab, kept, make_lab


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    d = sub.add_parser("drill", help="break a lab on purpose, one real cause at a time, and show which test "
                                     "catches it (then restore it and show it healthy)")
    d.add_argument("--proxy-mode", choices=PROXY_MODES, default="iptables",
                   help="the lab's kube-proxy mode (default: iptables)")
    d.add_argument("--lab", default="", help="kind:NAME (default: kind:svclab-<mode>, created unless it runs)")
    d.add_argument("--drills", nargs="+", help="the drills to run (default: every one for the mode)")
    d.add_argument("--reports", type=Path, default=Path("reports"), help="writes <reports>/drills/<mode>/")
    d.add_argument("--keep-lab", action="store_true", help="keep the lab afterwards")
    d.add_argument("--list", action="store_true", help="list the drills and exit")


def run(args: argparse.Namespace) -> int:
    if args.list:
        print(describe())
        return 0
    provider_name, target = parse_lab(args.lab or f"kind:svclab-{args.proxy_mode}")
    if provider_name != "kind":
        print("svclab drill: drills break a lab on purpose, so they run only on a kind lab svclab owns.")
        return 2
    try:
        spec = validate(LabSpec(name=target or f"svclab-{args.proxy_mode}", proxy_mode=args.proxy_mode, keep=True))
        drills = by_name(args.drills, args.proxy_mode)
        provider = make_lab(spec)
        provider.preflight()
    except (SvclabError, ValueError) as exc:
        print(f"svclab drill: {exc}")
        return 4
    reports = args.reports / "drills" / args.proxy_mode
    suites = sorted({s for d in drills for s in d.suites})
    with kept.in_use(spec.name):  # `svclab down` leaves the lab alone while the drills run
        return drill_all(args, spec, provider, drills, suites, reports)


def drill_all(args: argparse.Namespace, spec: LabSpec, provider: Lab, drills: list[Drill], suites: list[str],
              reports: Path) -> int:
    try:
        provider.up()
        live = open_lab(spec, provider)
        with progress.step(f"baseline: {', '.join(suites)} on the healthy lab"):
            baseline = pytest_run(spec, suites, reports / "baseline", [])
        outcomes: list[Outcome] = []
        if baseline.rc != 0:
            progress.say(f"the suites fail before any drill (see {baseline.log}): no drill can be judged")
        else:
            for drill in drills:
                outcomes.append(drill_once(live, drill, reports, []))
                if outcomes[-1].error or not outcomes[-1].healthy_after:
                    progress.say(f"drill {drill.name} left the lab unhealthy: the other drills are not run")
                    break
        with progress.step(f"after the drills: {', '.join(suites)} again"):
            final = pytest_run(spec, suites, reports / "final", [])
        summary = write(reports, args.proxy_mode, outcomes, baseline, final)
        print(summary.read_text())
    finally:
        if not args.keep_lab:
            provider.down()
    good = (baseline.rc == final.rc == 0 and len(outcomes) == len(drills)
            and all(o.caught and o.healthy_after for o in outcomes))
    return 0 if good else 1
