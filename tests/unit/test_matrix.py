"""The behaviour matrix, from evidence recorded on the three labs (ClusterIP suite, trimmed):
reports/matrix.{md,json} and index.html."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema

from svclab import matrix
from svclab.report import load

RECORDED = Path(__file__).parent.parent / "recorded" / "matrix"
LABS = ["ipvs", "iptables", "nftables"]
SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "matrix.schema.json"


def docs() -> dict[str, dict[str, object]]:
    return {lab: load(RECORDED / f"{lab}.json") for lab in LABS}


def rows_by_check() -> dict[str, matrix.Row]:
    return {r.check: r for r in matrix.build(docs())}


def test_the_spread_differs_rr_on_ipvs_random_elsewhere() -> None:
    rows = rows_by_check()
    rr = rows["test_ipvs_rr_cycles_through_the_pods"]
    assert rr.differs and rr.cells["ipvs"] == matrix.Cell("passed", "100/100/100")
    assert rr.cells["nftables"] == matrix.Cell("skipped", "IPVS rr cycles through the pods")
    random = rows["test_iptables_and_nftables_choose_at_random"]
    assert random.cells["nftables"].figure.startswith("random, p=") and random.cells["ipvs"].outcome == "skipped"


def test_checks_every_lab_passes_do_not_differ() -> None:
    row = rows_by_check()["test_requests_reach_every_ready_pod"]
    assert not row.differs and all(c.outcome == "passed" for c in row.cells.values())
    assert all(len(c.figure.split("/")) == 3 for c in row.cells.values())  # requests per pod, 3 pods


def test_a_check_one_lab_did_not_run_is_absent_and_differs() -> None:
    recorded = docs()
    recorded["iptables"] = {**recorded["iptables"], "tests": recorded["iptables"]["tests"][:1]}  # type: ignore[index]
    row = {r.check: r for r in matrix.build(recorded)}["test_requests_reach_every_ready_pod"]
    assert row.cells["iptables"] == matrix.Cell("absent", "") and row.differs


def test_written_files_follow_the_schema_and_link_each_report(tmp_path: Path) -> None:
    for lab in LABS:
        (tmp_path / lab).mkdir()
        shutil.copy(RECORDED / f"{lab}.json", tmp_path / lab / "evidence.json")
    md, js, page = matrix.write(tmp_path, [*LABS, "not-run"])
    doc = json.loads(js.read_text())
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    assert [lab["name"] for lab in doc["labs"]] == LABS
    assert "| ClusterIP | test_ipvs_rr_cycles_through_the_pods | passed: 100/100/100 |" in md.read_text()
    html = page.read_text()
    assert all(f'href="{lab}/report.html"' in html for lab in LABS) and "checks differ" in html


def test_nothing_to_compare_writes_nothing(tmp_path: Path) -> None:
    assert matrix.write(tmp_path, LABS) == []
