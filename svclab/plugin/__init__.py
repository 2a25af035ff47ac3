"""pytest glue: options with ini keys and environment variables, markers, early checks.

Settings are read in this order: command line, environment (SVCLAB_*), ini file,
default. A spec mistake or a host that cannot run the lab ends the run with one
sentence before anything is provisioned.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from types import FrameType
from typing import Any, cast

import pytest

from svclab.core import progress
from svclab.core.catalog import DEFAULT_MINOR, PIN_TABLE, PREFIX_ENV
from svclab.core.errors import SvclabError, WaitTimeout
from svclab.core.spec import PROXY_MODES, from_settings
from svclab.expect import evidence
from svclab.expect.verdict import VerdictFailed
from svclab.plugin import fixtures
from svclab.plugin.fixtures import SPEC_KEY, LiveLab

# option dest -> (flag, spec field, help, default)
OPTIONS: dict[str, tuple[str, str, str, str]] = {
    "lab": ("--lab", "lab", "lab provider spec: kind, kind:NAME, vagrant, vagrant:DIR (a folder with a Vagrantfile) "
            "or existing:KUBECONFIG", "kind"),
    "proxy_mode": ("--proxy-mode", "proxy_mode", f"kube-proxy mode: {', '.join(PROXY_MODES)}", "ipvs"),
    "k8s_version": ("--k8s-version", "kubernetes_version", f"Kubernetes version of svclab's own lab: "
                    f"{', '.join(PIN_TABLE)} (each its pinned patch; built by python -m svclab.images "
                    f"--k8s-version); default {DEFAULT_MINOR}", ""),
    "lab_image": ("--lab-image", "node_image", "node image (default: svclab.local/node:<k8s>)", ""),
    "lab_nodes": ("--lab-nodes", "nodes", "number of nodes, the first is the control plane", "3"),
    "ipvs_scheduler": ("--ipvs-scheduler", "ipvs_scheduler", "IPVS scheduler", "rr"),
    "image_prefix": ("--image-prefix", "image_prefix", "registry prefix the workloads' images come from on a "
                     "cluster svclab did not build, e.g. registry.example:5000/svclab (see svclab images --push)", ""),
}


# option dest -> (flag, spec field, help); off unless given
SWITCHES: dict[str, tuple[str, str, str]] = {
    "keep_lab": ("--keep-lab", "keep", "keep the lab after the run; the next run reuses it"),
    "allow_cluster_changes": (
        "--allow-cluster-changes", "allow_cluster_changes",
        "on a cluster svclab did not build (--lab existing:...), also run the checks that change "
        "cluster-scoped state (MetalLB, kube-proxy's ConfigMap and restarts); the original state "
        "is restored after each, and the report records the opt-in"),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("svclab", "svclab lab")
    for dest, (flag, _, help_text, default) in OPTIONS.items():
        group.addoption(flag, dest=dest, default=None,
                        help=f"{help_text} (ini svclab_{dest}, env SVCLAB_{dest.upper()})")
        parser.addini(f"svclab_{dest}", help_text, default=default)
    for dest, (flag, _, help_text) in SWITCHES.items():
        group.addoption(flag, dest=dest, action="store_true", default=None,
                        help=f"{help_text} (ini svclab_{dest}, env SVCLAB_{dest.upper()})")
        parser.addini(f"svclab_{dest}", help_text, type="bool", default=False)
    group.addoption("--svclab-report-dir", dest="svclab_report_dir", default="reports",
                    help="where lab logs and reports are written (default: reports)")


def setting(config: pytest.Config, dest: str) -> Any:
    value = config.getoption(dest)
    if value is None:
        value = os.environ.get(f"SVCLAB_{dest.upper()}") or config.getini(f"svclab_{dest}")
    return value


def pytest_configure(config: pytest.Config) -> None:
    global IN_WORKER
    IN_WORKER = hasattr(config, "workerinput")
    config.addinivalue_line(
        "markers", "requires_proxy_mode(*modes, reason=None): run only where kube-proxy's mode in "
        "force is one of modes; elsewhere skip, saying which mode is in force")
    config.addinivalue_line("markers", "lab: the test needs the live lab")
    config.addinivalue_line("markers", "latency: issue 15's programming-latency benchmark; left out unless "
                            "selected (-m latency): it fills the lab with up to 1000 Services")
    config.addinivalue_line(
        "markers", "changes_cluster(what): the test changes cluster-scoped state (what: one phrase); "
        "on a cluster svclab did not build it is skipped unless --allow-cluster-changes is given")
    if not config.pluginmanager.has_plugin("svclab.plugin.fixtures"):
        config.pluginmanager.register(fixtures, "svclab.plugin.fixtures")
    settings: dict[str, Any] = {OPTIONS[d][1]: setting(config, d) for d in OPTIONS}
    for dest, (_, field, _) in SWITCHES.items():
        value = setting(config, dest)
        settings[field] = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        setattr(config.option, dest, settings[field])
    try:
        config.stash[SPEC_KEY] = from_settings(settings)
    except SvclabError as exc:
        raise pytest.UsageError(str(exc)) from None
    if config.stash[SPEC_KEY].image_prefix:
        os.environ[PREFIX_ENV] = config.stash[SPEC_KEY].image_prefix  # read by the catalog (and xdist workers)
    if getattr(config.option, "dist", "no") == "load":
        # pytest-xdist's default spreads one module's tests over workers, and each would set up
        # the module's workload again: svclab's modules go whole to one worker
        config.option.dist = "loadscope"
    signal.signal(signal.SIGTERM, _terminate)
    capman = config.pluginmanager.getplugin("capturemanager")
    if capman is not None:
        progress.uncaptured = capman.global_and_fixture_disabled


EVIDENCE = "svclab_evidence"  # the user_properties key verdicts travel under
# exit codes of svclab's own, beside pytest's 0-5 (README, "Exit codes")
EXIT_HOST = 12  # this host cannot run the lab: said before anything was provisioned
EXIT_LAB = fixtures.EXIT_LAB  # 13: the lab came up but is not usable (say, another proxy mode)
IN_WORKER = False  # this process is a pytest-xdist worker (set in pytest_configure)
SUITE_TIMEOUT = 1200  # s: pytest-timeout's bound for a lab test (its setup, a new lab, included)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A verdict that fails while a fixture sets the test up (say, a Service that never answers
    on one node), or a wait that gives up there, is a finding about the lab: the test failed,
    with expected vs observed, rather than an error in setup."""
    report = yield
    if call.when == "setup" and call.excinfo is not None and call.excinfo.errisinstance((VerdictFailed, WaitTimeout)):
        report.when = "call"
        report.user_properties = [*report.user_properties, ("failed_in", "setup")]  # a fixture's verdict
    if report.when == "call" or (report.when == "setup" and not report.passed):
        # the verdicts travel with the report (a new list: the item's own stays clean)
        report.user_properties = [*report.user_properties, (EVIDENCE, evidence.STORE.take())]
    return report


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The latency benchmark's tests run only when asked for (-m latency); every lab test is
    bounded in time (pytest-timeout), unless the user set a timeout."""
    if "latency" not in (config.getoption("markexpr", "") or ""):
        benchmark = [item for item in items if item.get_closest_marker("latency")]
        if benchmark:
            config.hook.pytest_deselected(items=benchmark)
            items[:] = [item for item in items if not item.get_closest_marker("latency")]
            progress.say(f"{len(benchmark)} latency benchmark tests left out (run them with -m latency)")
    if config.getoption("timeout", None) or config.getini("timeout"):
        return
    for item in items:
        if needs_lab(item) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(SUITE_TIMEOUT))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Keep each test's outcome with the verdicts its report carries (setup skips and errors
    too). Taken out of user_properties before junitxml writes them as properties."""
    carried = [value for key, value in report.user_properties if key == EVIDENCE]
    if not carried or IN_WORKER:  # a pytest-xdist worker: the report goes to the controller as it is
        return
    report.user_properties = [(k, v) for k, v in report.user_properties if k != EVIDENCE]
    message = str(report.longrepr) if report.longrepr else ""
    if report.skipped and isinstance(report.longrepr, tuple):
        message = str(report.longrepr[2])
    evidence.add_test(report.nodeid, report.outcome, report.duration, message, dict(report.user_properties),
                      cast(dict[str, Any], carried[0]))


def pytest_sessionfinish(session: pytest.Session) -> None:
    reports = Path(session.config.getoption("svclab_report_dir"))
    late = evidence.STORE.take()["lab"]  # lab facts no report carried: noted at the lab's teardown,
    # or the run ended before any test (a lab refused with pytest.exit)
    workerinput = getattr(session.config, "workerinput", None)
    if workerinput is not None:  # a pytest-xdist worker: its reports went to the controller
        if late:  # the controller runs this hook after every worker's, and merges the file
            reports.mkdir(parents=True, exist_ok=True)
            (reports / f".late-lab-facts-{workerinput['workerid']}.json").write_text(json.dumps(late))
        return
    for path in sorted(reports.glob(".late-lab-facts-*.json")):
        evidence.STORE.lab.update(json.loads(path.read_text()))
        path.unlink()
    evidence.STORE.lab.update(late)
    if evidence.STORE.lab:
        progress.say(f"evidence written to {evidence.write(reports / 'evidence.json')}")


def _terminate(signum: int, frame: FrameType | None) -> None:
    """A CI time-out sends SIGTERM: unwind like Ctrl-C so the lab is torn down."""
    raise KeyboardInterrupt(f"signal {signum}")


def needs_lab(item: pytest.Item) -> bool:
    return "lab" in getattr(item, "fixturenames", ()) or bool(item.get_closest_marker("requires_proxy_mode"))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Check markers and the host once, before any lab is provisioned."""
    for item in session.items:
        marker = item.get_closest_marker("requires_proxy_mode")
        if marker is not None:
            _marker_modes(marker, item.nodeid)
    if not any(needs_lab(item) for item in session.items):
        return
    spec = session.config.stash[SPEC_KEY]
    try:
        from svclab.labs import make_lab

        make_lab(spec).preflight()
    except SvclabError as exc:
        pytest.exit(f"svclab: {exc}", returncode=EXIT_HOST)


def _marker_modes(marker: pytest.Mark, where: str = "") -> tuple[str, ...]:
    modes = tuple(marker.args)
    bad = [m for m in modes if m not in PROXY_MODES]
    if not modes or bad:
        at = f" (at {where})" if where else ""
        raise pytest.UsageError(
            f"requires_proxy_mode takes one or more of {', '.join(PROXY_MODES)}; got {modes!r}{at}.")
    return modes


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any fixture runs (a module fixture may be the one that makes the change)."""
    marker = item.get_closest_marker("changes_cluster")
    if marker is None:
        return
    from svclab.labs import read_only

    if read_only(item.config.stash[SPEC_KEY]):
        what = marker.args[0] if marker.args else "changes cluster-scoped state"
        pytest.skip(f"{what}: svclab changes nothing cluster-scoped on a cluster it did not build "
                    "(pass --allow-cluster-changes to run it; the original state is restored after)")


@pytest.fixture(autouse=True)
def _svclab_proxy_mode_gate(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("requires_proxy_mode")
    if marker is None:
        return
    modes = _marker_modes(marker)
    live: LiveLab = request.getfixturevalue("lab")
    if live.mode not in modes:
        why = marker.kwargs.get("reason") or f"checks {'/'.join(modes)} behaviour"
        pytest.skip(f"{why}; this lab runs kube-proxy in {live.mode} mode")

