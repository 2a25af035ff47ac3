"""`svclab run`: a mode the host cannot run is reported; with --require-all (CI) it fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from svclab import cli


@pytest.fixture
def outcomes(monkeypatch: pytest.MonkeyPatch) -> dict[str, cli.ModeRun]:
    table = {"ipvs": cli.ModeRun("ipvs", "not run", "its disk is not built"),
             "iptables": cli.ModeRun("iptables", "passed", "", 1.0, {"passed": 3}),
             "nftables": cli.ModeRun("nftables", "passed", "", 1.0, {"passed": 3})}
    monkeypatch.setattr(cli, "run_mode", lambda mode, reports, extra, lab="", kubernetes="", label="": table[mode])
    return table


def test_a_mode_not_run_is_reported_and_the_rest_decide(outcomes: dict[str, cli.ModeRun], tmp_path: Path) -> None:
    assert cli.main(["run", "--reports", str(tmp_path)]) == 0
    assert "**ipvs: not run.** its disk is not built" in (tmp_path / "summary.md").read_text()


def test_require_all_fails_on_a_mode_not_run(outcomes: dict[str, cli.ModeRun], tmp_path: Path) -> None:
    assert cli.main(["run", "--require-all", "--reports", str(tmp_path)]) == 1
    assert cli.main(["run", "--require-all", "--modes", "iptables", "--reports", str(tmp_path)]) == 0


def test_nothing_run_is_a_failure(outcomes: dict[str, cli.ModeRun], tmp_path: Path) -> None:
    assert cli.main(["run", "--modes", "ipvs", "--reports", str(tmp_path)]) == 1


def test_pytest_kind_plugin_is_off_in_the_project() -> None:
    """pytest-kind is a library here: its plugin's --keep-cluster and kind_cluster (which would
    download kind) must not sit beside svclab's options."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    shown = subprocess.run([sys.executable, "-m", "pytest", "--help"], cwd=root, capture_output=True,
                           text=True, timeout=120, check=True).stdout
    assert "--keep-lab" in shown
    assert "--keep-cluster" not in shown and "--kind-bin" not in shown


def test_run_passes_lab_keep_and_unknown_arguments_to_pytest(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[tuple[str, list[str], str]] = []

    def fake(mode: str, reports: Path, extra: list[str], lab: str = "", kubernetes: str = "",
             label: str = "") -> cli.ModeRun:
        seen.append((mode, extra, lab))
        return cli.ModeRun(mode, "passed", "", 1.0, {"passed": 1})

    monkeypatch.setattr(cli, "run_mode", fake)
    argv = ["run", "--modes", "nftables", "--lab", "kind:mine", "--keep-lab", "-k", "dns", "-x",
            "--reports", str(tmp_path)]
    assert cli.main(argv) == 0
    assert seen == [("nftables", ["--keep-lab", "-k", "dns", "-x"], "kind:mine")]
    assert cli.main(["run", "--modes", "iptables", "--reports", str(tmp_path), "--", "-k", "dns"]) == 0
    assert seen[-1] == ("iptables", ["-k", "dns"], "")


def test_one_lab_for_several_modes_is_one_sentence(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["run", "--lab", "existing:/k", "--reports", str(tmp_path)])
    assert exited.value.code == 2
    assert "--lab existing:/k is one lab: give it one mode" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_versions_name_each_lab_with_its_minor(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The default version alone keeps the mode as the lab's name; beside another version every
    lab is <mode>-<minor>, each run with its own pinned patch; an unpinned version is refused."""
    seen: list[tuple[str, str, str]] = []

    def fake(mode: str, reports: Path, extra: list[str], lab: str = "", kubernetes: str = "",
             label: str = "") -> cli.ModeRun:
        seen.append((mode, kubernetes, label))
        return cli.ModeRun(label, "passed", "", 1.0, {"passed": 1})

    monkeypatch.setattr(cli, "run_mode", fake)
    monkeypatch.setattr(cli.matrix, "write", lambda reports, labs, moves=(): [])
    assert cli.main(["run", "--modes", "ipvs", "--reports", str(tmp_path)]) == 0
    assert seen == [("ipvs", "v1.35.4", "ipvs")]
    seen.clear()
    assert cli.main(["run", "--modes", "ipvs", "nftables", "--k8s-versions", "1.35", "v1.37.2",
                     "--reports", str(tmp_path)]) == 0
    assert seen == [("ipvs", "v1.35.4", "ipvs-1.35"), ("nftables", "v1.35.4", "nftables-1.35"),
                    ("ipvs", "v1.37.2", "ipvs-1.37"), ("nftables", "v1.37.2", "nftables-1.37")]
    with pytest.raises(SystemExit):
        cli.main(["run", "--k8s-versions", "1.38", "--reports", str(tmp_path)])


def test_keep_lab_with_several_labs_is_refused_before_anything_runs(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                                     ) -> None:
    monkeypatch.setattr(cli, "run_mode", lambda *a, **k: pytest.fail("no lab may start"))
    with pytest.raises(SystemExit):
        cli.main(["run", "--keep-lab", "--modes", "ipvs", "nftables", "--reports", str(tmp_path)])
    assert "--keep-lab keeps one lab, and this run makes 2" in capsys.readouterr().err
