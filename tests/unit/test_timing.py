"""Where a run's time goes, read from the junit files of a real `svclab run` (README command 1 on
this machine, fresh clone of 5870792: the IPVS and iptables labs, Kubernetes v1.35.4)."""

from __future__ import annotations

from pathlib import Path

from svclab.cli import ModeRun, summary
from svclab.timing import module_of, module_seconds, time_table

RECORDED = Path(__file__).resolve().parents[1] / "recorded" / "run"
IPVS = RECORDED / "junit-ipvs-v1.35.4.xml"


def test_a_module_is_named_by_its_file() -> None:
    assert module_of("suites.test_affinity") == "test_affinity"
    assert module_of("suites.test_x.TestY") == "test_x"


def test_module_seconds_add_up_to_the_suite_time() -> None:
    found = module_seconds(IPVS)
    assert len(found) == 19 and next(iter(found)) == "test_affinity"  # the first module carries the lab
    assert abs(sum(found.values()) - 1781.3) < 1.0  # the testsuite element's own time
    assert module_seconds(RECORDED / "missing.xml") == {}


def test_the_table_puts_the_costliest_module_first_and_says_the_ratio() -> None:
    ipvs, iptables = module_seconds(IPVS), module_seconds(RECORDED / "junit-iptables-v1.35.4.xml")
    lines = time_table({"ipvs": ipvs, "iptables": iptables, "nftables": {}})
    assert lines[0] == "| module | ipvs (s) | iptables (s) |"  # a lab with no junit is left out
    assert lines[2] == "| test_affinity | 257 | 184 |"
    assert "| test_ipvs_schedulers | 154 | 3 |" in lines  # every test skipped in iptables mode
    assert "| total | **1781** | **799** |" in lines
    assert lines[-1] == "The ipvs lab's suites took 2.23x that of iptables (sums of the tests' junit times)."


def test_the_run_summary_ends_with_where_the_time_went() -> None:
    runs = [ModeRun("ipvs", "passed", "", 1800.0, {"passed": 101}, [], module_seconds(IPVS)),
            ModeRun("iptables", "not run", "no lab")]
    text = summary(runs)
    assert "## Where the time went" in text and "| test_udp | 157 |" in text
    assert "took" not in text.split("## Where the time went")[1]  # one lab: no ratio
