"""svclab's pytest glue, run in fresh pytest processes: options, markers and early errors.

No test here may create a lab. Every run that selects a `lab` test is built to fail in the
preflight, and has extra guards so that it could not provision even if that check passed:
a lab name of its own, an empty SVCLAB_CACHE (no kind binary) and a node image never built.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from svclab.cli import ModeRun, junit_counts, summary
from svclab.labs import hostcheck
from svclab.plugin import _marker_modes

LAB_NAME = "svclab-pytester-never"
GUARDS = ("--lab", f"kind:{LAB_NAME}", "--lab-image", "svclab.local/never-built:none")
LAB_TEST = "def test_x(lab):\n    pass\n"
PROXY_SENTENCE = "Unknown proxy mode 'bogus': use one of ipvs, iptables, nftables."


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("SVCLAB_") or key == "PYTEST_ADDOPTS":
            monkeypatch.delenv(key)
    monkeypatch.setenv("SVCLAB_CACHE", str(tmp_path / "svclab-cache"))


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def output(result: pytest.RunResult) -> str:
    return result.stdout.str() + "\n" + result.stderr.str()


def exit_line(result: pytest.RunResult) -> str:
    """The one line pytest.exit() printed (`! _pytest.outcomes.Exit: svclab: ... !`)."""
    lines = [line for line in output(result).splitlines() if "Exit: svclab:" in line]
    assert len(lines) == 1, output(result)
    return lines[0].split("Exit: ", 1)[1].rstrip(" !")


def docker_names() -> set[str]:
    """Names of every container and network the host's Docker engine has."""
    if shutil.which("docker") is None:
        pytest.skip("no docker client on this host to compare containers and networks")
    found = set()
    for argv in (["docker", "ps", "-a", "--format", "{{.Names}}"],
                 ["docker", "network", "ls", "--format", "{{.Name}}"]):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            pytest.skip(f"the Docker engine does not answer: {done.stderr.strip()}")
        found |= set(done.stdout.split())
    return found


def assert_nothing_new(before: set[str]) -> None:
    # Others may run labs on this engine meanwhile: everything svclab makes carries the lab name.
    new = docker_names() - before
    assert not [name for name in new if LAB_NAME in name], new


# -- 1, 2: options, ini keys and markers ------------------------------------------------

def test_help_lists_options_and_ini_keys(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--help")
    assert result.ret == 0
    text = " ".join(result.stdout.str().split())  # help text wraps at the terminal width
    assert ("svclab lab: --lab=LAB lab provider spec: kind, kind:NAME, vagrant, vagrant:DIR (a folder with a "
            "Vagrantfile) or existing:KUBECONFIG") in text
    for flag, help_text in [("--proxy-mode=PROXY_MODE", "kube-proxy mode: ipvs, iptables, nftables"),
                            ("--lab-image=LAB_IMAGE", "node image"),
                            ("--lab-nodes=LAB_NODES", "number of nodes"),
                            ("--ipvs-scheduler=IPVS_SCHEDULER", "IPVS scheduler"),
                            ("--keep-lab", "keep the lab after the run")]:
        assert f" {flag} {help_text}" in text, flag
    for key, kind in [("svclab_lab", "string"), ("svclab_proxy_mode", "string"), ("svclab_keep_lab", "bool")]:
        assert f" {key} ({kind}):" in text, key
    assert "(ini svclab_proxy_mode, env SVCLAB_PROXY_MODE)" in text


def test_markers_registered(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--markers")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["@pytest.mark.requires_proxy_mode(*modes, reason=None):*"])


# -- 3: spec mistakes end the run with one sentence, before anything is provisioned -----

@pytest.mark.parametrize(("args", "sentence"), [
    (("--lab-nodes", "0"), "A lab needs at least one node (the control plane), and the spec asks for 0."),
    (("--proxy-mode", "userspace"), "Unknown proxy mode 'userspace': use one of ipvs, iptables, nftables."),
])
def test_bad_spec_is_a_usage_error(pytester: pytest.Pytester, args: tuple[str, ...], sentence: str) -> None:
    pytester.makepyfile(LAB_TEST)
    result = run(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0] == f"ERROR: {sentence}"
    assert "collected" not in result.stdout.str()


def test_unknown_provider_exits_at_preflight(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(LAB_TEST)
    result = run(pytester, "--lab", "nosuch")
    assert result.ret == 12
    assert exit_line(result).startswith("svclab: Unknown lab provider 'nosuch': use one of kind, existing")
    result.stdout.fnmatch_lines(["*no tests ran*"])


def test_ini_proxy_mode_is_validated(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nsvclab_proxy_mode = bogus\n")
    pytester.makepyfile(LAB_TEST)
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: {PROXY_SENTENCE}" in result.stderr.lines


def test_env_proxy_mode_is_validated(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SVCLAB_PROXY_MODE", "bogus")
    pytester.makepyfile(LAB_TEST)
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: {PROXY_SENTENCE}" in result.stderr.lines


def test_command_line_beats_env_beats_ini(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SVCLAB_PROXY_MODE", "bogus")
    monkeypatch.setenv("SVCLAB_LAB_NODES", "2")
    pytester.makeini("[pytest]\nsvclab_lab_nodes = 0\nsvclab_ipvs_scheduler = lc\n")
    pytester.makepyfile("""
        def test_spec(lab_spec):
            assert lab_spec.proxy_mode == "iptables"   # command line over env
            assert lab_spec.nodes == 2                 # env over ini
            assert lab_spec.ipvs_scheduler == "lc"     # ini over default
    """)
    result = run(pytester, "--proxy-mode", "iptables")
    result.assert_outcomes(passed=1)


# -- 4: no lab test selected, no host touched --------------------------------------------

def test_no_lab_test_needs_no_docker(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                     tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    pytester.makepyfile(LAB_TEST + "\n\ndef test_plain():\n    pass\n")
    result = run(pytester, "-k", "plain")
    result.assert_outcomes(passed=1, deselected=1)
    assert "Exit:" not in output(result)


# -- 5: a host that cannot run the lab: exit 12, one sentence, nothing left behind -------

def test_missing_docker_engine(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    before = docker_names()
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    pytester.makepyfile(LAB_TEST)
    result = run(pytester, *GUARDS, "--proxy-mode", "iptables")
    assert result.ret == 12
    said = exit_line(result)
    assert said.startswith("svclab: No Docker engine answers on this host (docker info: ")
    assert said.endswith("run `lab/host/prepare.sh` (as root) to install and start one.")
    assert "ip_vs" not in said
    result.stdout.fnmatch_lines(["*no tests ran*"])
    monkeypatch.delenv("DOCKER_HOST")
    assert_nothing_new(before)


def test_ipvs_without_ip_vs(pytester: pytest.Pytester) -> None:
    if Path("/proc/net/ip_vs").exists() or hostcheck.gather().ip_vs:
        pytest.skip("this host's kernel has ip_vs, so IPVS mode passes the preflight")
    before = docker_names()
    pytester.makepyfile(LAB_TEST)
    result = run(pytester, *GUARDS, "--proxy-mode", "ipvs")
    assert result.ret == 12
    said = exit_line(result)  # the cache is empty, so the IPVS VM is not built
    assert said.startswith("svclab: kube-proxy's IPVS mode needs ip_vs, which kernel ")
    assert "so svclab runs the lab's IPVS node in a qemu VM, and that VM cannot start yet: its disk is not " \
           "built (" in said, said
    assert "run `python -m svclab.images --k8s-version 1.35` to build it" in said, said
    assert said.endswith("(or use --proxy-mode iptables or nftables).")
    assert_nothing_new(before)


# -- 6: requires_proxy_mode with a bad argument -------------------------------------------

def test_marker_with_unknown_mode_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.requires_proxy_mode("userspace")
        def test_m():
            pass
    """)
    # `--lab nosuch`: should the gate ever reach the lab fixture, make_lab refuses first.
    result = run(pytester, "--lab", "nosuch")
    # Checked at collection, before any lab: one sentence naming the test, exit 4.
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "ERROR: requires_proxy_mode takes one or more of ipvs, iptables, nftables; got ('userspace',) (at *::test_m).",
    ])


@pytest.mark.parametrize("mark", [
    pytest.mark.requires_proxy_mode("userspace"),
    pytest.mark.requires_proxy_mode(),
    pytest.mark.requires_proxy_mode("ipvs", "bogus"),
])
def test_marker_modes_refuses(mark: pytest.MarkDecorator) -> None:
    with pytest.raises(pytest.UsageError, match=r"^requires_proxy_mode takes one or more of ipvs, iptables, nftables"):
        _marker_modes(mark.mark)


def test_marker_modes_accepts() -> None:
    mark = pytest.mark.requires_proxy_mode("iptables", "nftables", reason="why").mark
    assert _marker_modes(mark) == ("iptables", "nftables")


# -- 7: svclab run's summary ----------------------------------------------------------------

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="0" skipped="1" tests="2" time="1.0">
<testcase classname="suites.test_a" name="test_ok" time="0.1"/>
<testcase classname="suites.test_a" name="test_ipvs_only" time="0.0">
<skipped type="pytest.skip" message="checks ipvs behaviour; this lab runs kube-proxy in iptables mode">x</skipped>
</testcase></testsuite></testsuites>
"""


def test_junit_counts_and_summary(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(JUNIT)
    counts, skips = junit_counts(junit)
    assert counts == {"tests": 2, "failures": 0, "errors": 0, "skipped": 1, "passed": 1}
    assert skips == ["test_ipvs_only: checks ipvs behaviour; this lab runs kube-proxy in iptables mode"]
    assert junit_counts(tmp_path / "missing.xml") == ({}, [])
    why = "kube-proxy's IPVS mode needs the kernel's ip_vs support, and kernel 6.1 has none."
    text = summary([ModeRun("iptables", "passed", seconds=12.4, counts=counts, skips=skips),
                    ModeRun("ipvs", "not run", why)])
    assert "| iptables | passed | 1 | 0 | 1 | 12 |" in text
    assert "| ipvs | not run | - | - | - | 0 |" in text
    assert f"**ipvs: not run.** {why}" in text
    assert f"- {skips[0]}" in text
    assert "**iptables" not in text


# -- a verdict or a wait that fails while a fixture sets a test up is a failed test ----------

VERDICT_IN_SETUP = '''
import pytest
from svclab.core.errors import WaitTimeout
from svclab.expect import Verdict, verify

@pytest.fixture(scope="module")
def service():
    verify(Verdict("node-b answers on 31682", False, "6 of 6 requests answered", "0 of 6; failures: 6 (refused 6)"),
           lambda: "    kube-proxy per node:\\n      node-b: NO kube-proxy pod")

@pytest.fixture
def waited():
    raise WaitTimeout("3 ready pods: not true after 1 s")

def test_uses_it(service):
    pass

def test_uses_it_too(service):
    pass

def test_waits(waited):
    pass

@pytest.fixture
def plain():
    raise RuntimeError("a bug in a fixture")

def test_bug(plain):
    pass
'''


def test_a_failed_verdict_in_setup_fails_the_tests_with_expected_and_observed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_setup=VERDICT_IN_SETUP)
    result = run(pytester, "-rA")
    result.assert_outcomes(failed=3, errors=1)  # a bug in a fixture stays an error
    text = output(result)
    assert text.count("node-b answers on 31682: does NOT hold") >= 2, text
    assert "node-b: NO kube-proxy pod" in text and "expected: 6 of 6 requests answered" in text
    assert "3 ready pods: not true after 1 s" in text


# -- verdicts travel in each test's report (user_properties), not in junit.xml ---------------

EVIDENCE_IN_REPORT = '''
from svclab.expect import evidence
from svclab.expect.verdict import Verdict, record

def test_records(record_property):
    evidence.note_lab({"name": "recorded-lab"})
    record_property("mine", "kept")
    record(Verdict("a recorded verdict", True, "x", "x"))
'''


def test_verdicts_travel_with_the_report_and_stay_out_of_junit(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_evidence=EVIDENCE_IN_REPORT)
    result = run(pytester, "--junitxml", "junit.xml", "-o", "junit_family=xunit1",
                 "--svclab-report-dir", "reports")
    result.assert_outcomes(passed=1)
    junit = (pytester.path / "junit.xml").read_text()
    assert "svclab_evidence" not in junit and 'name="mine"' in junit
    doc = json.loads((pytester.path / "reports" / "evidence.json").read_text())
    assert doc["lab"] == {"name": "recorded-lab"}
    [test] = doc["tests"]
    assert [v["name"] for v in test["verdicts"]] == ["a recorded verdict"]
    assert test["properties"] == {"mine": "kept"}


LAB_REFUSED = '''
import pytest
from svclab.expect import evidence

@pytest.fixture(scope="session")
def refused():
    evidence.note_lab({"name": "recorded-lab", "error": "kube-proxy mode 'nftables' was requested but its "
                                                         "ConfigMap says 'iptables'."})
    pytest.exit("svclab: the lab is not usable", returncode=13)

def test_needs_it(refused):
    pass
'''


def test_a_lab_refused_before_any_test_still_writes_its_error(pytester: pytest.Pytester) -> None:
    """`svclab drill` reads a wrong proxy mode from the evidence of a run that ran no test."""
    pytester.makepyfile(test_refused=LAB_REFUSED)
    result = run(pytester, "--svclab-report-dir", "reports")
    assert result.ret == 13
    doc = json.loads((pytester.path / "reports" / "evidence.json").read_text())
    assert "but its ConfigMap says 'iptables'" in doc["lab"]["error"] and doc["tests"] == []


# -- a check that needs node shells skips, with the reason, on a lab that gives none ---------

NO_SHELLS = '''
import types
import pytest

@pytest.fixture(scope="session")
def lab():  # an existing cluster: no node shell
    return types.SimpleNamespace(node_shells=lambda: {}, spec=types.SimpleNamespace(provider="existing"))

def test_reads_the_data_plane(shells):
    pass
'''


def test_a_check_needing_node_shells_is_skipped_with_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shells=NO_SHELLS)
    (pytester.path / "kubeconfig").write_text("")
    result = run(pytester, "-rs", "--lab", f"existing:{pytester.path / 'kubeconfig'}")
    result.assert_outcomes(skipped=1)
    assert "needs a shell on the nodes, and the existing provider gives none" in output(result)


# -- read-only on a cluster svclab did not build, unless the user opts in ------------------

CHANGES = '''
import pytest

@pytest.fixture(scope="module")
def installs_something():  # stands for MetalLB's install: it must not run when the test is skipped
    open("installed", "w").close()  # in pytester's directory, the run's working directory

@pytest.mark.changes_cluster("installs MetalLB (cluster-wide)")
def test_lb(installs_something):
    pass

def test_read_only_check():
    pass
'''


@pytest.mark.parametrize(("extra", "runs"), [((), False), (("--allow-cluster-changes",), True)])
def test_a_cluster_change_needs_the_opt_in_on_a_cluster_svclab_did_not_build(
        pytester: pytest.Pytester, extra: tuple[str, ...], runs: bool) -> None:
    pytester.makepyfile(test_changes=CHANGES)
    (pytester.path / "kubeconfig").write_text("")
    result = run(pytester, "-rs", "--lab", f"existing:{pytester.path / 'kubeconfig'}", *extra)
    installed = (pytester.path / "installed").exists()
    if runs:
        result.assert_outcomes(passed=2)
        assert installed
    else:
        result.assert_outcomes(passed=1, skipped=1)
        assert not installed, "the module fixture that makes the change ran before the skip"
        assert ("installs MetalLB (cluster-wide): svclab changes nothing cluster-scoped on a cluster it did "
                "not build (pass --allow-cluster-changes") in output(result)


def test_svclab_s_own_lab_runs_cluster_changes_without_the_opt_in(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_changes=CHANGES)
    result = run(pytester, *GUARDS)
    result.assert_outcomes(passed=2)
    assert (pytester.path / "installed").exists()


# -- pytest-xdist: the workers' verdicts reach the controller, which writes one evidence.json ----

XDIST = '''
import pytest
from svclab.expect import evidence
from svclab.expect.verdict import holds, verify

@pytest.fixture(scope="session")
def lab_like():
    yield
    evidence.note_lab({"after": "noted at teardown"})  # as the lab's state check is

@pytest.mark.parametrize("n", range(4))
def test_check(n, lab_like):
    evidence.note_lab({"name": "fake"})
    verify(holds(f"check {n}", True, "x", "x"))
'''


def test_the_workers_verdicts_reach_one_evidence_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_xdist=XDIST)
    result = run(pytester, "-n", "2", "--svclab-report-dir", "reports")
    result.assert_outcomes(passed=4)
    doc = json.loads((pytester.path / "reports" / "evidence.json").read_text())
    assert doc["lab"] == {"name": "fake", "after": "noted at teardown"}
    assert not list((pytester.path / "reports").glob(".late-*"))
    assert sorted(v["name"] for t in doc["tests"] for v in t["verdicts"]) == [f"check {n}" for n in range(4)]


# -- the lab fixture brings its provider up (with and without pytest-xdist) ---------------

FAKE_PROVIDER = '''
from svclab.core.errors import LabError

class FakeLab:
    builds_cluster = True

    def __init__(self, spec):
        self.spec, self.owned, self.reused = spec, False, False

    def preflight(self):
        pass

    def up(self):
        raise LabError("the fake provider's up() was called")

    def down(self):
        pass
'''

FAKE_CONFTEST = '''
import svclab.labs
svclab.labs.PROVIDERS["fake"] = "fakelab:FakeLab"
'''


@pytest.mark.parametrize("extra", [(), ("-n", "2")])
def test_the_lab_fixture_brings_its_provider_up(pytester: pytest.Pytester, extra: tuple[str, ...]) -> None:
    pytester.makepyfile(fakelab=FAKE_PROVIDER, test_up=LAB_TEST)
    pytester.makeconftest(FAKE_CONFTEST)
    result = run(pytester, "--lab", "fake", *extra)
    assert "the lab is not usable: the fake provider's up() was called" in output(result)


BUSY_PROVIDER = FAKE_PROVIDER.replace(
    '''raise LabError("the fake provider's up() was called")''',
    '''from svclab.labs import kept
        raise LabError(f"while up() runs, svclab down sees the lab busy: {kept.busy(self.spec.name)}")''')


@pytest.mark.parametrize("extra", [(), ("-n", "2")])
def test_the_lab_is_marked_in_use_while_a_run_holds_it(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                       extra: tuple[str, ...]) -> None:
    """`svclab down` must never take a lab from under a run (it once took the IPVS lab from a
    README run going on beside it): the lab fixture marks it in use before it brings it up."""
    monkeypatch.setenv("SVCLAB_CACHE", str(pytester.path / "cache"))
    pytester.makepyfile(fakelab=BUSY_PROVIDER, test_up=LAB_TEST)
    pytester.makeconftest(FAKE_CONFTEST)
    result = run(pytester, "--lab", "fake", *extra)
    assert "while up() runs, svclab down sees the lab busy: True" in output(result)
