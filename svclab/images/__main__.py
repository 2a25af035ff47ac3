"""`python -m svclab.images [STEP ...] [--force]`: build or reuse every lab image."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rich.console import Console

from svclab.core.catalog import DEFAULT_MINOR, PIN_TABLE, pins_for
from svclab.core.errors import SvclabError
from svclab.images import publish
from svclab.images.factory import BuildError, Outcome, build
from svclab.images.steps import all_steps

console = Console(stderr=True, soft_wrap=True)


def default_cache() -> Path:
    return Path(os.environ.get("SVCLAB_CACHE", Path.home() / ".cache" / "svclab"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m svclab.images", description=__doc__,
                                     epilog="Nothing is pulled: every image is built on this machine.")
    parser.add_argument("steps", nargs="*", help="steps to build, with the steps they need (default: all)")
    parser.add_argument("--force", action="store_true", help="rebuild even when cached")
    parser.add_argument("--k8s-version", nargs="+", default=[DEFAULT_MINOR], metavar="VERSION",
                        help=f"the Kubernetes versions to build labs for: {', '.join(PIN_TABLE)} or all "
                             f"(each its pinned patch; default: {DEFAULT_MINOR})")
    parser.add_argument("--cache", type=Path, default=default_cache(),
                        help="where binaries, images' keys and the VM disk are kept (env SVCLAB_CACHE; "
                             "default: ~/.cache/svclab)")
    parser.add_argument("--vagrant-box", action="store_true",
                        help="also build each version's box for the Vagrant lab (--lab vagrant)")
    parser.add_argument("--list", action="store_true", help="list the steps and exit")
    parser.add_argument("--export", type=Path, metavar="FILE",
                        help="after building, save the workloads' images (myapp, probe, MetalLB) in one archive "
                             "for a cluster svclab did not build (kind load image-archive, ctr images import)")
    parser.add_argument("--push", metavar="PREFIX",
                        help="after building, tag the workloads' images PREFIX/NAME:TAG and push them to your "
                             "registry; run the suites with --image-prefix PREFIX")
    parser.add_argument("--prefix", default="", help="with --export: name the archived images under this prefix")
    args = parser.parse_args(argv)
    try:
        wanted = list(PIN_TABLE) if args.k8s_version == ["all"] else args.k8s_version
        steps = all_steps(*(pins_for(v) for v in wanted), vagrant=args.vagrant_box)
    except SvclabError as exc:
        parser.error(str(exc))
    if args.list:
        for step in steps:
            print(step.name, step.image or " ".join(step.files))
        return 0

    def report(name: str, outcome: Outcome | None) -> None:
        if outcome is None:
            console.print(f"[bold]building[/] {name} ...")
        elif outcome.status == "built":
            console.print(f"  [green]built[/]  {name:38} {outcome.seconds:6.1f} s  {outcome.output}")
        else:
            console.print(f"  cached {name:38}          {outcome.output}")

    try:
        outcomes = build(steps, cache=args.cache, wanted=args.steps or None, force=args.force,
                         report=report)
    except BuildError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 1
    built = [o for o in outcomes if o.status == "built"]
    total = sum(o.seconds for o in built)
    console.print(f"images: {len(built)} built in {total:.0f} s, {len(outcomes) - len(built)} cached")
    try:
        if args.export:
            publish.export(args.export, args.prefix)
            console.print(f"workload images saved to {args.export}: {', '.join(publish.workload_images())}"
                          + (f" (named under {args.prefix})" if args.prefix else ""))
        if args.push:
            publish.push(args.push)
            console.print(f"workload images pushed under {args.push}")
    except SvclabError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
