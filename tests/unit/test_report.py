"""svclab.report: the Markdown summary, the HTML page and the changes between two runs,
from a small evidence document shaped like the one svclab.expect.evidence writes."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from svclab import report
from svclab.report import FORMAT, INTENDED, Change, EvidenceError, compare, load, render_html, render_markdown

SPREAD = "suites/test_clusterip.py::test_clusterip_spreads_over_every_ready_pod"
CONTROL = "suites/test_clusterip.py::test_negative_control_wrong_selector_fails_with_the_checklist"
NODEPORT = "suites/test_nodeport.py::test_nodeport_answers_on_every_node"
RR = "suites/test_affinity.py::test_ipvs_rr_cycles_through_the_pods"
GONE = "suites/test_dns.py::test_headless_returns_every_pod_ip"
PODS = ["myapp-5d8f-aaaaa", "myapp-5d8f-bbbbb", "myapp-5d8f-ccccc"]


def command(stdout: str = "myapp-5d8f-aaaaa\n", rc: int = 0) -> dict[str, Any]:
    return {"where": "pod/svclab-x/client", "rc": rc, "seconds": 0.41, "stdout": stdout, "stderr": "",
            "reproduce": "kubectl --kubeconfig /tmp/kc exec -n svclab-x client -- curl -s http://10.96.0.20/"}


def verdict(name: str, ok: bool, observed: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "ok": ok, "expected": f"100 answers from exactly {PODS}", "observed": observed,
            "data": data, "commands": [command()]}


def evidence() -> dict[str, Any]:
    counts = {PODS[0]: 34, PODS[1]: 33, PODS[2]: 33}
    return {
        "format": FORMAT, "written": "2025-01-02T03:04:05Z",
        "lab": {"kubernetes": "v1.31.0", "proxy_mode_requested": "iptables", "proxy_mode_configured": "iptables",
                "proxy_mode_observed": {"svclab-control-plane": "iptables", "svclab-worker": "iptables"},
                "ipvs_scheduler": "rr", "kernel": "6.1.0-18-amd64", "cni": "labnet (bridge)",
                "node_image": "kindest/node:v1.31.0", "provider": "kind", "name": "svclab",
                "nodes": [{"name": "svclab-control-plane", "role": "control-plane", "address": "172.18.0.2"},
                          {"name": "svclab-worker", "role": "worker", "address": "172.18.0.3"}]},
        "tests": [
            {"nodeid": SPREAD, "outcome": "passed", "seconds": 2.5, "message": "", "properties": {},
             "verdicts": [verdict("random spread over the pods", True, "34/33/33; p = 0.9900",
                                  {"counts": counts, "pods": PODS, "p": 0.99, "alpha": 0.001})]},
            {"nodeid": CONTROL, "outcome": "passed", "seconds": 1.5, "message": "", "properties": {},
             "verdicts": [verdict("reaches every ready pod", False, "no answers; failures: 3",
                                  {"counts": {}, "pods": PODS, "failures": 3})]},
            {"nodeid": NODEPORT, "outcome": "failed", "seconds": 9.25, "properties": {"node": "svclab-worker"},
             "message": "AssertionError: reaches every ready pod: does NOT hold\n  observed: <worker2> refused",
             "verdicts": [verdict("reaches every ready pod", False, "node <worker2> refused: curl exit 7",
                                  {"counts": {PODS[0]: 2}, "pods": PODS, "failures": 1})]},
            {"nodeid": RR, "outcome": "skipped", "seconds": 0.0, "properties": {}, "verdicts": [],
             "message": "Skipped: needs kube-proxy in ipvs mode; iptables is in force"},
        ],
    }


def previous() -> dict[str, Any]:
    """The run before: NodePort passed (a regression now), the spread failed (a fix now),
    the negative control did not exist yet and a DNS test was still there."""
    doc = copy.deepcopy(evidence())
    doc["tests"] = [t for t in doc["tests"] if t["nodeid"] != CONTROL]
    for test in doc["tests"]:
        test["outcome"] = {NODEPORT: "passed", SPREAD: "failed"}.get(test["nodeid"], test["outcome"])
    doc["tests"].append({"nodeid": GONE, "outcome": "passed", "seconds": 1.0, "message": "", "properties": {},
                         "verdicts": []})
    return doc


class Tables(HTMLParser):
    """Rows of cell texts per table class, from HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: list[list[str]] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.current = self.tables.setdefault(dict(attrs).get("class") or "", [])
        elif tag == "tr" and self.current is not None:
            self.current.append([])
        elif tag in ("td", "th") and self.current is not None:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.current is not None and self.cell is not None:
            self.current[-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def tables(html: str) -> dict[str, list[list[str]]]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


def test_load_refuses_a_file_that_is_not_evidence_in_one_sentence(tmp_path: Path) -> None:
    junit = tmp_path / "junit.json"
    junit.write_text(json.dumps({"format": "junit"}))
    with pytest.raises(EvidenceError, match="is not svclab evidence: its format is 'junit'") as wrong:
        load(junit)
    assert "\n" not in str(wrong.value)
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(EvidenceError, match="not readable JSON evidence"):
        load(tmp_path / "broken.json")
    good = tmp_path / "evidence.json"
    good.write_text(json.dumps(evidence()))
    assert load(good)["tests"][0]["nodeid"] == SPREAD


def test_markdown_is_short_with_lab_facts_a_table_by_behaviour_failures_and_skips() -> None:
    md = render_markdown(evidence())
    lines = md.splitlines()
    assert len(lines) < 30
    lab = next(line for line in lines if line.startswith("**Lab:**"))
    assert "v1.31.0" in lab and "requested iptables, configured iptables, in force iptables on 2 of 2 nodes" in lab
    assert "| ClusterIP | 1 | 0 | 0 | 1 |" in lines  # the negative control is not counted as a failure
    assert "| NodePort | 0 | **1** | 0 | 0 |" in lines
    assert "| Session affinity | 0 | 0 | 1 | 0 |" in lines
    failures = lines[lines.index("## Failures"):lines.index("## Skipped")]
    assert f"- `{NODEPORT}`: `AssertionError: reaches every ready pod: does NOT hold`" in failures
    assert f"- `{RR}`: `needs kube-proxy in ipvs mode; iptables is in force`" in lines
    assert CONTROL not in md


def test_html_has_the_summary_table_charts_skip_reasons_and_escapes_everything() -> None:
    html = render_html(evidence())
    summary = tables(html)["summary"]
    assert summary[0][:6] == ["Service behaviour", "result", "passed", "failed", "skipped", "negative controls"]
    assert [row[:6] for row in summary[1:]] == [["ClusterIP", "passed", "1", "0", "0", "1"],
                                                ["NodePort", "failed", "0", "1", "0", "0"],
                                                ["Session affinity", "skipped", "0", "0", "1", "0"]]
    assert html.count('<svg class="chart"') == 3  # every verdict with counts, even empty ones
    first_chart = html[html.index('<svg class="chart"'):html.index("</svg>")]
    assert '<title>Answers per pod for "random spread over the pods": myapp-5d8f-aaaaa 34' in first_chart
    assert "node &lt;worker2&gt; refused" in html and "<worker2>" not in html
    assert "needs kube-proxy in ipvs mode; iptables is in force" in html
    assert INTENDED in html and "does NOT hold" in html
    assert "kubectl --kubeconfig /tmp/kc exec -n svclab-x client -- curl -s http://10.96.0.20/" in html
    assert "<script" not in html and 'src="' not in html and "<link" not in html
    assert "Changes since the previous report" not in html


def test_chart_shows_every_pod_even_one_that_never_answered() -> None:
    drawn = report.chart({"counts": {"b": 4}, "pods": ["a", "b"]})
    assert drawn is not None
    assert [(b["name"], b["count"]) for b in drawn["bars"]] == [("a", 0), ("b", 4)]
    assert drawn["bars"][0]["w"] == 0 and drawn["bars"][1]["w"] > 0
    assert report.chart({"p": 0.5}) is None


def test_compare_lists_regressions_first_then_fixes_then_added_and_removed() -> None:
    assert compare(previous(), evidence()) == [Change(NODEPORT, "passed", "failed"), Change(SPREAD, "failed", "passed"),
                                               Change(CONTROL, None, "passed"), Change(GONE, "passed", None)]
    assert [c.kind for c in compare(previous(), evidence())] == ["regression", "fix", "added", "removed"]
    assert compare(evidence(), evidence()) == []


def test_html_puts_the_changes_first_with_the_regression_on_top() -> None:
    html = render_html(evidence(), previous())
    assert html.index("Changes since the previous report") < html.index("Summary by Service behaviour")
    assert html.index('<section id="changes">') == html.index("<section")
    changes = next(rows for rows in tables(html).values() if rows and rows[0][:2] == ["change", "test"])
    assert [row[:2] for row in changes[1:]] == [["regression", NODEPORT], ["fix", SPREAD], ["added", CONTROL],
                                                ["removed", GONE]]


def test_cli_writes_both_files_and_prints_changes_regressions_first(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    new, old = tmp_path / "iptables" / "evidence.json", tmp_path / "old.json"
    new.parent.mkdir()
    new.write_text(json.dumps(evidence()))
    old.write_text(json.dumps(previous()))
    assert report.main(["render", str(new), "--previous", str(old)]) == 0
    assert "Changes since the previous report" in (new.parent / "report.html").read_text()
    assert "| NodePort |" in (new.parent / "summary.md").read_text()
    assert report.main(["compare", str(old), str(new)]) == 0
    lines = capsys.readouterr().out.splitlines()[-4:]
    assert lines[0] == f"regression: {NODEPORT}: passed -> failed"
    assert lines[-1] == f"removed: {GONE}: passed -> absent"
    assert report.main(["compare", str(new), str(tmp_path / "missing.json")]) == 2
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "svclab.report", "render", str(new), "--out", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (out / "report.html").stat().st_size > 1000 and (out / "summary.md").exists()


def test_the_seeds_lab_reads_ipvs_on_3_of_3_nodes() -> None:
    from svclab.labfacts import proxy_text

    lab = {"proxy_mode_requested": "ipvs", "proxy_mode_configured": "ipvs",
           "proxy_mode_observed": {"k8s-master": "ipvs", "k8s-node01": "ipvs", "k8s-node02": "ipvs"}}
    assert proxy_text(lab) == "requested ipvs, configured ipvs, in force IPVS on 3 of 3 nodes"


def test_a_lab_that_mixes_modes_says_where_requests_go() -> None:
    from svclab.labfacts import proxy_text

    lab = {"proxy_mode_requested": "ipvs", "proxy_mode_configured": "ipvs",
           "proxy_mode_observed": {"cp": "iptables", "w": "iptables", "vm": "ipvs"},
           "proxy_mode_support": {"cp": "iptables", "w": "iptables"}, "dataplane_nodes": ["vm"]}
    assert proxy_text(lab) == (
        "requested ipvs, configured ipvs, in force IPVS on 1 of 3 nodes (vm); iptables on 2 of 3 nodes (cp, w); "
        "requests to Service "
        "addresses go through vm, the other nodes run iptables on purpose (their kernel cannot run ipvs; node "
        "ports are checked on every node, each named with its mode)")


def test_a_verdicts_notes_reach_the_evidence_and_the_page() -> None:
    """Which node or address a verdict is about is often only in its notes: they are kept."""
    from svclab.expect import evidence as store
    from svclab.expect.verdict import Verdict, record

    record(Verdict("the connection is refused at once", True, "12 refused", "refused 12").noted(
        "node port on svclab-worker (nftables)"))
    noted = store.STORE.pending.pop()
    assert noted["notes"] == ["node port on svclab-worker (nftables)"]
    doc = evidence()
    doc["tests"][0]["verdicts"].append(noted)
    assert "note: node port on svclab-worker (nftables)" in render_html(doc)
