"""`svclab compare-labs`: what changes from one lab to another, from evidence recorded on the
IPVS and nftables labs (ClusterIP suite, trimmed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from svclab import cli, migration

RECORDED = Path(__file__).parent.parent / "recorded" / "matrix"


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    for lab in ("ipvs", "nftables"):
        (tmp_path / lab).mkdir()
        shutil.copy(RECORDED / f"{lab}.json", tmp_path / lab / "evidence.json")
    return tmp_path


def test_moving_from_ipvs_to_nftables_loses_rr_and_kube_ipvs0_and_gains_random_choice(reports: Path) -> None:
    text = migration.write("ipvs", "nftables", reports).read_text()
    lost = text.split("## Holds before the move, not after")[1].split("## ")[0]
    assert "`test_ipvs_rr_cycles_through_the_pods`: ipvs: passed: 100/100/100" in lost
    assert "test_ipvs_binds_the_clusterip_to_kube_ipvs0" in lost
    gained = text.split("## Holds only after the move")[1]
    assert "`test_iptables_and_nftables_choose_at_random`: ipvs: skipped" in gained and "random, p=" in gained
    assert "- proxy_mode_configured: `ipvs` -> `nftables`" in text
    assert "test_requests_reach_every_ready_pod" not in text  # the same in both labs


def test_the_way_back_swaps_lost_and_gained(reports: Path) -> None:
    text = migration.write("nftables", "ipvs", reports).read_text()
    assert "test_ipvs_rr_cycles_through_the_pods" in text.split("## Holds only after the move")[1]


def test_evidence_paths_work_too_and_a_missing_lab_is_one_sentence(reports: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = migration.write(str(reports / "ipvs" / "evidence.json"), str(reports / "nftables" / "evidence.json"), reports)
    assert out.name == "migration-ipvs-to-nftables.md"
    assert cli.main(["compare-labs", "ipvs", "iptables", "--reports", str(reports)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("svclab compare-labs: ") and "iptables/evidence.json" in err and err.count("\n") == 1
    assert cli.main(["compare-labs", "ipvs", "ipvs", "--reports", str(reports)]) == 2
