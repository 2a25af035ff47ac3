"""`svclab down` never takes down a lab that a running svclab holds: the in-use mark is a real
lock held by another process, and it goes when that process dies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from svclab import cli
from svclab.labs import kept

HOLDER = """
import sys, time
from svclab.labs.kept import in_use
with in_use(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SVCLAB_CACHE", str(tmp_path))
    return tmp_path


def test_a_lab_held_by_another_process_is_busy_until_that_process_dies(cache: Path) -> None:
    assert not kept.busy("lab-a")  # never used: no mark at all
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, "lab-a"], stdout=subprocess.PIPE, text=True,
                              env={"SVCLAB_CACHE": str(cache), "PATH": "/usr/bin:/bin",
                                   "PYTHONPATH": str(Path(cli.__file__).parents[1])})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert kept.busy("lab-a") and not kept.busy("lab-b")
        with kept.in_use("lab-a"):  # a second user (an xdist worker) shares the mark
            assert kept.busy("lab-a")
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert not kept.busy("lab-a")


def test_down_refuses_a_busy_lab_in_one_sentence(cache: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(kept, "kept_labs", lambda: ["lab-a"])
    with kept.in_use("lab-a"):
        assert cli.main(["down", "lab-a"]) == 2
        said = capsys.readouterr().err
        assert said.startswith("svclab down: lab 'lab-a' is in use by a running svclab") and said.count("\n") == 1
        assert cli.main(["down"]) == 0  # every lab: the busy one is left alone, and said so
        assert "left alone, in use by a running svclab: lab-a" in capsys.readouterr().out


def test_down_names_the_labs_that_are_up_when_given_an_unknown_one(
        cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(kept, "kept_labs", lambda: ["svclab-ipvs"])
    assert cli.main(["down", "nosuch"]) == 2
    assert "there is no svclab lab named 'nosuch' on this machine (up: svclab-ipvs)." in capsys.readouterr().err
