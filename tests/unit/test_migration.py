"""`svclab compare-labs`: what changes from one lab to another, from evidence recorded on the
IPVS and nftables labs (ClusterIP suite, trimmed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from svclab import cli, matrix, migration

RECORDED = Path(__file__).parent.parent / "recorded" / "matrix"


def laid_out(tmp_path: Path, folder: Path, labs: tuple[str, ...]) -> Path:
    """A reports folder holding each recorded lab's evidence as <lab>/evidence.json."""
    for lab in labs:
        (tmp_path / lab).mkdir()
        shutil.copy(folder / f"{lab}.json", tmp_path / lab / "evidence.json")
    return tmp_path


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    return laid_out(tmp_path, RECORDED, ("ipvs", "nftables"))


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


def test_a_run_compares_ipvs_with_nftables_at_each_version_and_each_mode_across_versions() -> None:
    ran = [("ipvs", "v1.35.4", "ipvs-1.35"), ("nftables", "v1.35.4", "nftables-1.35"),
           ("ipvs", "v1.37.2", "ipvs-1.37"), ("iptables", "v1.37.2", "iptables-1.37")]
    assert migration.run_pairs(ran) == [("ipvs-1.35", "nftables-1.35"), ("ipvs-1.35", "ipvs-1.37")]
    assert migration.run_pairs([("ipvs", "v1.35.4", "ipvs"), ("nftables", "v1.35.4", "nftables")]) == [
        ("ipvs", "nftables")]


VERSIONS = RECORDED / "versions"  # the externalIPs module on the iptables labs of 1.35 and 1.37 (real runs)


@pytest.fixture
def upgrade(tmp_path: Path) -> Path:
    return laid_out(tmp_path, VERSIONS, ("iptables-1.35", "iptables-1.37"))


def test_moving_from_1_35_to_1_37_shows_the_externalips_warning_and_the_version_facts(upgrade: Path) -> None:
    text = migration.write("iptables-1.35", "iptables-1.37", upgrade).read_text()
    labs = text.split("## The labs")[1].split("\n## ")[0]
    assert "- kubernetes: `v1.35.4` -> `v1.37.2`" in labs
    assert "kube-apiserver v1.35.4" in labs and "kube-apiserver v1.37.2" in labs  # components, read from the pods
    assert "- feature gate KubeProxyIPVS: `absent` -> `DEPRECATED on`" in labs
    # both pass; what they found differs: no warning on 1.35, the API server's warning on 1.37
    changed = text.split("## Otherwise different")[1]
    assert "test_the_api_server_warns_that_external_ips_are_deprecated_from_1_36" in changed
    assert "no such warning" in changed and "warned: spec.externalIPs is deprecated" in changed
    # the control has no warning to take away on 1.35: skipped there, passed on 1.37
    gained = text.split("## Holds only after the move")[1].split("\n## ")[0]
    assert "test_negative_control_a_service_without_external_ips_draws_no_warning" in gained
    assert "test_external_ip_reaches_every_pod_from_outside" not in text  # the same on both


def test_the_matrix_marks_a_check_whose_finding_differs_though_both_pass(upgrade: Path) -> None:
    from svclab import matrix
    from svclab.report import load

    rows = {r.check: r for r in matrix.build({lab: load(upgrade / lab / "evidence.json")
                                              for lab in ("iptables-1.35", "iptables-1.37")})}
    warned = rows["test_the_api_server_warns_that_external_ips_are_deprecated_from_1_36"]
    assert {c.outcome for c in warned.cells.values()} == {"passed"} and warned.differs
    assert [c.finding for c in warned.cells.values()] == ["no warning", "warned"]
    assert not rows["test_external_ip_reaches_every_pod_from_outside"].differs


def test_a_finding_leads_the_cell_and_a_control_has_none(tmp_path: Path) -> None:
    """Recorded on README command 1 (5870792): both labs pass the short-timeout check, IPVS
    keeping the client past it and nftables moving it; the controls pass in both."""
    reports = laid_out(tmp_path, RECORDED / "affinity", ("ipvs", "nftables"))
    text = migration.write("ipvs", "nftables", reports).read_text()
    assert ("`test_affinity_with_a_short_timeout`: ipvs: passed: stays past the timeout (8); "
            "nftables: passed: moves after the timeout (5/2/1)") in text
    assert "what_makes_the_spaced_requests" not in text  # a control's verdict names the claim it refuted
    page = matrix.write(reports, ["ipvs", "nftables"])[2].read_text()
    assert '<span class="finding">stays past the timeout</span>' in page  # the highlighted row says why
