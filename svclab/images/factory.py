"""Build, cache and report every lab image, from Go modules and Debian packages only.

A step runs only when its key (a hash of its input files, its parameters and its
dependencies' keys) differs from the key stored with its output: a Docker label
`svclab.key` on images, a stamp file for binaries.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from svclab.core.assets import repo_root
from svclab.core.errors import SvclabError, WaitTimeout
from svclab.core.wait import wait_for

LOG_TAIL = 25


class BuildError(SvclabError):
    """A factory step failed; the message names the step and shows its log tail."""


@dataclass
class Ctx:
    """What a step's action may use: folders and a logged command runner."""

    root: Path
    cache: Path
    step: str = ""
    key: str = ""
    log: Path = field(default_factory=lambda: Path(os.devnull))

    @property
    def bin(self) -> Path:
        return self.cache / "bin"

    def run(self, argv: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
        """Run argv, appending its output to the step's log; fail with the log tail."""
        with self.log.open("a") as out:
            out.write(f"$ {' '.join(argv)}\n")
            out.flush()
            rc = subprocess.call(
                list(argv), cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
            )
        if rc != 0:
            self.fail(f"`{' '.join(argv[:4])} ...` exited with {rc}")

    def fail(self, why: str) -> None:
        lines = self.log.read_text(errors="replace").splitlines()[-LOG_TAIL:]
        tail = "\n".join(f"    | {line}" for line in lines)
        raise BuildError(f"image step {self.step!r} failed: {why}\n  log: {self.log}\n{tail}")


@dataclass(frozen=True)
class Step:
    name: str
    action: Callable[[Ctx], None]
    inputs: tuple[str, ...] = ()  # paths under the repo root, hashed into the key
    params: tuple[str, ...] = ()  # versions and flags, hashed into the key
    deps: tuple[str, ...] = ()
    image: str = ""  # the Docker image the step makes, if any
    files: tuple[str, ...] = ()  # files under the cache the step makes, if any


@dataclass(frozen=True)
class Outcome:
    step: str
    status: str  # "built" | "cached"
    seconds: float
    output: str


def hash_inputs(root: Path, paths: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for rel in paths:
        base = root / rel
        if not base.exists():
            raise BuildError(f"image step input {rel} is missing from {root}")
        found = sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else [base]
        for path in found:
            data = path.read_bytes()
            name = str(path.relative_to(root)).encode()
            digest.update(b"%d:%s:%d:" % (len(name), name, len(data)))
            digest.update(data)
    return digest.hexdigest()


def step_key(step: Step, root: Path, dep_keys: Sequence[str]) -> str:
    material = {
        "image": step.image,
        "inputs": hash_inputs(root, step.inputs),
        "params": list(step.params),
        "deps": list(dep_keys),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]


def image_key(image: str) -> str | None:
    proc = subprocess.run(
        ["docker", "image", "inspect", "--format", '{{ index .Config.Labels "svclab.key" }}', image],
        capture_output=True, text=True, check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def is_fresh(step: Step, ctx: Ctx, key: str) -> bool:
    present = all((ctx.cache / f).exists() for f in step.files)
    if step.image:
        return present and image_key(step.image) == key
    stamp = ctx.cache / "stamps" / step.name
    return present and stamp.exists() and stamp.read_text().strip() == key


def order(steps: Sequence[Step], wanted: Sequence[str] | None) -> list[Step]:
    """The steps needed for `wanted` (all when None), dependencies first."""
    by_name = {s.name: s for s in steps}
    unknown = [w for w in wanted or () if w not in by_name]
    if unknown:
        raise BuildError(f"unknown image step(s) {', '.join(unknown)}; known: {', '.join(by_name)}")
    out: list[Step] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if any(s.name == name for s in out):
            return
        if name in visiting:
            raise BuildError(f"image steps depend on each other in a cycle: {' -> '.join([*visiting, name])}")
        if name not in by_name:
            raise BuildError(f"image step {visiting[-1]!r} depends on unknown step {name!r}")
        visiting.append(name)
        for dep in by_name[name].deps:
            visit(dep)
        visiting.pop()
        out.append(by_name[name])

    for name in wanted or list(by_name):
        visit(name)
    return out


def build(
    steps: Sequence[Step],
    *,
    cache: Path,
    wanted: Sequence[str] | None = None,
    force: bool = False,
    report: Callable[[str, Outcome | None], None] = lambda name, outcome: None,
) -> list[Outcome]:
    """Run the needed steps in order; `report(name, None)` announces a start."""
    root = repo_root()
    for sub in ("bin", "stamps", "logs"):
        (cache / sub).mkdir(parents=True, exist_ok=True)
    keys: dict[str, str] = {}
    outcomes: list[Outcome] = []
    for step in order(steps, wanted):
        key = step_key(step, root, [keys[d] for d in step.deps])
        keys[step.name] = key
        ctx = Ctx(root, cache, step.name, key, cache / "logs" / f"{step.name}.log")
        output = step.image or ", ".join(step.files)
        if not force and is_fresh(step, ctx, key):
            outcome = Outcome(step.name, "cached", 0.0, output)
        else:
            report(step.name, None)
            ctx.log.write_text("")
            start = time.monotonic()
            step.action(ctx)
            if not step.image:
                (cache / "stamps" / step.name).write_text(key)
            outcome = Outcome(step.name, "built", time.monotonic() - start, output)
        outcomes.append(outcome)
        report(step.name, outcome)
    return outcomes


def docker_build(
    ctx: Ctx, image: str, dockerfile_dir: str, files: dict[str, Path], **args: str
) -> None:
    """docker build from lab/images/<dockerfile_dir> plus the given files, labelled with the key."""
    with tempfile.TemporaryDirectory(prefix=f"svclab-{ctx.step}-") as tmp:
        context = Path(tmp)
        shutil.copytree(ctx.root / "lab" / "images" / dockerfile_dir, context, dirs_exist_ok=True)
        for rel, src in files.items():
            dest = context / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
        argv = ["docker", "build", "-q", "-t", image, "--label", f"svclab.key={ctx.key}"]
        for name, value in args.items():
            argv += ["--build-arg", f"{name}={value}"]
        ctx.run([*argv, str(context)])


@contextmanager
def containerd_container(ctx: Ctx, image: str, volumes: dict[str, str]) -> Iterator[str]:
    """A privileged container of `image` running only containerd, removed afterwards."""
    name = f"svclab-build-{ctx.key[:12]}"
    subprocess.call(["docker", "rm", "-f", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    mounts = [arg for src, dest in volumes.items() for arg in ("-v", f"{src}:{dest}")]
    ctx.run(["docker", "run", "-d", "--privileged", "--name", name,
             "--entrypoint", "/usr/bin/containerd", *mounts, image])
    try:
        try:
            wait_for(lambda: subprocess.call(["docker", "exec", name, "ctr", "version"],
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0,
                     what="containerd in the build container answers", timeout=60, interval=0.5)
        except WaitTimeout as exc:
            ctx.fail(str(exc))
        yield name
    finally:
        subprocess.call(["docker", "rm", "-f", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
