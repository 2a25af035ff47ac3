"""The drill catalogue and runner's judgement, on evidence shaped as a run writes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from svclab.drill.catalogue import CATALOGUE, by_name
from svclab.drill.runner import Outcome, Pass, find_fact, html, markdown


def evidence(*tests: tuple[str, str, str], lab_error: str = "") -> Pass:
    return Pass(1, {"lab": {"error": lab_error} if lab_error else {},
                    "tests": [{"nodeid": n, "outcome": o, "message": m} for n, o, m in tests]})


def test_the_catalogue_has_eight_drills_or_more_for_every_mode() -> None:
    for mode in ("ipvs", "iptables", "nftables"):
        assert len(by_name(None, mode)) >= 8
    assert len({d.name for d in CATALOGUE}) == len(CATALOGUE)
    assert [d.name for d in by_name(None, "iptables")].count("ipvs-scheduler-changed") == 0


def test_an_unknown_drill_is_one_sentence() -> None:
    with pytest.raises(ValueError, match="Unknown drill nope: the drills are coredns-down"):
        by_name(["nope"], "ipvs")


def test_a_drill_is_caught_only_by_a_failed_test_whose_report_holds_the_fact() -> None:
    run = evidence(("suites/test_dns.py::test_a", "passed", "no DNS answer (in a passing test)"),
                   ("suites/test_dns.py::test_b", "failed", "DNS A x: does NOT hold\n  observed: no DNS answer: dig "
                    "exit 9 (no reply from the server)"))
    by, seen, failed = find_fact(run, r"no DNS answer")
    assert (by, failed) == ("suites/test_dns.py::test_b", 1)
    assert seen == "observed: no DNS answer: dig exit 9 (no reply from the server)"
    assert find_fact(run, r"SERVFAIL")[0] == ""


def test_the_fact_may_be_in_a_failed_verdict_beyond_the_kept_tail_of_the_message() -> None:
    run = evidence(("suites/test_nodeport.py::test_a", "failed", "...the last 4000 characters: the facts..."))
    run.evidence["tests"][0]["verdicts"] = [{"name": "http://n:31682 answers", "ok": False,
                                             "observed": "; failures: 6 (timed out 6)"}]
    expected = "http://n:31682 answers: does NOT hold; observed: ; failures: 6 (timed out 6)"
    assert find_fact(run, r"timed out")[1] == expected
    assert find_fact(run, r"timed out")[0] == "suites/test_nodeport.py::test_a"


def test_a_fact_from_a_fixture_says_it_came_from_the_tests_setup() -> None:
    run = evidence(("suites/test_nodeport.py::test_api_refuses[29999]", "failed", "node port 31682: timed out"))
    run.evidence["tests"][0]["properties"] = {"failed_in": "setup"}
    assert find_fact(run, r"timed out")[0] == ("suites/test_nodeport.py::test_api_refuses[29999] "
                                               "(in its setup: a fixture's verdict)")


def test_the_lab_check_catches_a_wrong_mode() -> None:
    run = evidence(lab_error="kube-proxy mode 'nftables' was requested but its ConfigMap says 'iptables'.")
    assert find_fact(run, r"but its ConfigMap says")[0].startswith("the lab check")


def test_the_table_says_caught_n_of_n_and_names_what_was_not() -> None:
    doc = {"mode": "nftables", "baseline_rc": 0, "final_rc": 0, "written": "now", "drills": [
        vars(Outcome("a", "breaks a", ["test_dns.py"], "x", True, "t::x", "x | y", 1, True, "ok", 12.0)),
        vars(Outcome("b", "breaks b", ["test_dns.py"], "y", False, "", "", 0, True, "ok", 3.0))]}
    text = markdown(doc)
    assert "**Caught 1 of 2**" in text and "**not caught**" in text and "x \\| y" in text
    page = html(doc)
    assert "caught 1 of 2" in page and "not caught" in page


def test_a_miss_says_what_the_suites_said_instead() -> None:
    """Recorded from the IPVS drill run on f9f2ef5: the module errored before the firewalled port."""
    doc = json.loads((Path(__file__).parents[1] / "recorded" / "drills" / "ipvs-node-port-firewalled-missed.json")
                     .read_text())
    by, seen, failed = find_fact(Pass(1, doc, Path("pytest.log")), r"failures: \d+ \(timed out")
    assert by == "" and failed == 6
    assert seen.startswith("instead, suites/test_nodeport.py::test_api_refuses_out_of_range_or_duplicate_node_ports")
    assert seen.endswith("spec.ports[0].nodePort: Invalid value: 31682: provided port is already allocated")
