"""The house's rules that imports can show: suites use only the public surface, and the runtime
never imports pytest or the image factory."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUITE_MAY_IMPORT = ("svclab.plugin.fixtures", "svclab.plugin.latency", "svclab.expect")
# the pytest glue and the build tooling; everything else under svclab/ is runtime
NOT_RUNTIME = ("plugin/", "images/")


def svclab_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names]
    return found


def test_suites_import_only_the_fixtures_and_the_expectations() -> None:
    wrong = {f"{p.name}: {m}" for p in (ROOT / "suites").glob("*.py") for m in svclab_imports(p)
             if m.startswith("svclab") and not m.startswith(SUITE_MAY_IMPORT)}
    assert not wrong, f"suites import svclab internals: {sorted(wrong)}"


def test_runtime_imports_neither_pytest_nor_the_image_factory() -> None:
    runtime = [p for p in (ROOT / "svclab").rglob("*.py")
               if not str(p.relative_to(ROOT / "svclab")).startswith(NOT_RUNTIME)]
    wrong = {f"{p.relative_to(ROOT)}: {m}" for p in runtime for m in svclab_imports(p)
             if m == "pytest" or m.startswith(("pytest.", "_pytest", "svclab.images", "svclab.plugin"))}
    wrong.discard("svclab/cli.py: svclab.images.__main__")  # the front door: `svclab images` hands over
    assert not wrong, f"runtime modules import pytest or build tooling: {sorted(wrong)}"


# The layers, bottom up; a module may import its own layer and the ones below, never above.
RANK = {"core": 0, "labs": 1, "observe": 1, "images": 1, "expect": 2, "harness": 3, "plugin": 4, "drill": 4,
        "report": 4, "labfacts": 4, "matrix": 4, "migration": 4, "cli": 5, "__main__": 6}


def layer(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def test_every_import_points_down() -> None:
    upward = []
    for path in (ROOT / "svclab").rglob("*.py"):
        relative = path.relative_to(ROOT / "svclab")
        if relative.parts == ("__init__.py",):
            continue
        here = relative.parts[0].removesuffix(".py")
        for module in svclab_imports(path):
            if module.startswith("svclab.") and RANK[layer(module)] > RANK[here]:
                upward.append(f"{relative} ({here}) imports {module}")
    assert not upward, "imports that point up a layer:\n" + "\n".join(upward)
