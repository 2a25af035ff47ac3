"""The HTML report in a real browser: headless Chromium loads the file, its DOM holds the
summary table and the per-pod chart, and a screenshot of the page comes out.

Without /usr/bin/chromium this skips, saying so, unless CI is set: in CI it must run."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from svclab.report import FORMAT, render_html

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
PODS = ["myapp-5d8f-aaaaa", "myapp-5d8f-bbbbb", "myapp-5d8f-ccccc"]


def evidence() -> dict[str, object]:
    curl = {"where": "pod/svclab-x/client", "rc": 0, "seconds": 1.2, "stdout": "myapp-5d8f-aaaaa\n", "stderr": "",
            "reproduce": "kubectl exec -n svclab-x client -- curl -s http://10.96.0.20/hostname.html"}
    spread = {"name": "random spread over the pods", "ok": True, "expected": "all 3 pods answer, chi-square p >= 0.001",
              "observed": "myapp-5d8f-aaaaa=36, myapp-5d8f-bbbbb=31, myapp-5d8f-ccccc=33; p = 0.8200",
              "data": {"counts": dict(zip(PODS, (36, 31, 33), strict=True)), "pods": PODS, "p": 0.82},
              "commands": [curl]}
    refused = {"name": "reaches every ready pod", "ok": False, "expected": f"6 answers from exactly {PODS}",
               "observed": "<none>; failures: 6 (curl exits [7])", "data": {"counts": {}, "pods": PODS},
               "commands": [curl]}
    return {"format": FORMAT, "written": "2025-01-02T03:04:05Z",
            "lab": {"kubernetes": "v1.31.0", "proxy_mode_requested": "iptables", "proxy_mode_configured": "iptables",
                    "proxy_mode_observed": {"svclab-worker": "iptables"}, "kernel": "6.1.0", "cni": "labnet",
                    "nodes": [{"name": "svclab-worker", "role": "worker", "address": "172.18.0.3"}]},
            "tests": [{"nodeid": "suites/test_clusterip.py::test_spread", "outcome": "passed", "seconds": 2.0,
                       "message": "", "properties": {}, "verdicts": [spread]},
                      {"nodeid": "suites/test_nodeport.py::test_every_node", "outcome": "failed", "seconds": 8.0,
                       "message": "AssertionError: reaches every ready pod: does NOT hold", "properties": {},
                       "verdicts": [refused]},
                      {"nodeid": "suites/test_affinity.py::test_rr", "outcome": "skipped", "seconds": 0.0,
                       "message": "Skipped: needs ipvs; iptables is in force", "properties": {}, "verdicts": []}]}


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing and CI is set: install the Debian package chromium.")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); the HTML report is not checked in a browser.")
    html = tmp_path_factory.mktemp("report") / "report.html"
    html.write_text(render_html(evidence()), encoding="utf-8")
    return html


def chromium(page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = page.parent / "profile"
    argv = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}"
    return done


def test_the_browser_sees_the_summary_table_and_the_chart(page: Path) -> None:
    dom = chromium(page, "--dump-dom").stdout
    assert '<table class="summary">' in dom
    assert '<svg class="chart"' in dom and "<title>Answers per pod" in dom
    assert "&lt;none&gt;; failures: 6" in dom  # escaped text stays text in the browser too


def test_the_page_renders_to_a_screenshot(page: Path) -> None:
    shot = page.parent / "shot.png"
    chromium(page, f"--screenshot={shot}", "--window-size=1200,2000")
    assert shot.exists(), f"chromium wrote no {shot}"
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, f"{shot}: {len(data)} bytes"


def test_long_lab_facts_wrap_inside_the_page(page: Path) -> None:
    """Node names and feature-gate lists are long words: the facts box once pushed the page wider
    than the window, cutting off the kube-proxy fact (seen in a screenshot of a real IPVS report)."""
    doc = evidence()
    lab = doc["lab"]
    assert isinstance(lab, dict)
    lab["proxy_mode_observed"] = {f"svclab-ipvs-{n}": m for n, m in
                                  (("control-plane", "iptables"), ("vm", "ipvs"), ("worker", "iptables"))}
    gates = {f"AggregatedDiscoveryRemoveBetaType{i}": {"stage": "DEPRECATED", "enabled": True} for i in range(5)}
    lab["feature_gates"], lab["kube_proxy_feature_gates"] = gates, {"svclab-ipvs-vm": gates}
    measured = page.parent / "wide.html"
    probe = ("<script>document.body.dataset.overflow = "
             "String(document.documentElement.scrollWidth > window.innerWidth)</script>")
    measured.write_text(render_html(doc).replace("</body>", probe + "</body>"), encoding="utf-8")
    dom = chromium(measured, "--dump-dom", "--window-size=1000,800").stdout
    assert 'data-overflow="false"' in dom, "the page is wider than a 1000 px window"
