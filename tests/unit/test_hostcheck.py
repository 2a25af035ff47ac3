"""hostcheck on fake trees built from this workplace's recorded host files.

tests/recorded/host/ holds, from the lab host (kernel 6.18.44-fc-v657):
  docker-info.json     `docker info --format '{{json .}}'` (Docker 20.10.24, wrapper runtime)
  proc-self-status     /proc/self/status (CapBnd 000001fffeffffff: CAP_SYS_RESOURCE missing)
  proc-self-mountinfo  /proc/self/mountinfo (cgroup v1 hybrid, cpu and cpuacct apart),
                       minus one unrelated read-only tmpfs mount
  kernel-config        the CONFIG_MODULES, CONFIG_IP_VS and CONFIG_NF_TABLES lines of
                       `zcat /proc/config.gz`
  osrelease, cap_last_cap  /proc/sys/kernel/{osrelease,cap_last_cap}
The host has no /proc/modules, no /proc/net/ip_vs and no /lib/modules.
"""

from __future__ import annotations

import dataclasses
import gzip
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from svclab.core.errors import HostError
from svclab.core.result import CommandResult
from svclab.labs.hostcheck import DockerFacts, HostFacts, check, gather, require, warnings

RECORDED = Path(__file__).resolve().parent.parent / "recorded" / "host"
KERNEL = "6.18.44-fc-v657"


class FakeRun:
    """Answers commands from a table of argv → (rc, stdout, stderr); records what ran."""

    def __init__(self, answers: dict[tuple[str, ...], tuple[int, str, str]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, argv: Sequence[str], *, timeout: float = 120.0) -> CommandResult:
        self.calls.append(tuple(argv))
        rc, out, err = self.answers.get(tuple(argv), (127, "", f"{argv[0]}: command not found"))
        return CommandResult("host", tuple(argv), rc, out, err, 0.0)


DOCKER_INFO = ("docker", "info", "--format", "{{json .}}")


def recorded_docker() -> FakeRun:
    return FakeRun({DOCKER_INFO: (0, (RECORDED / "docker-info.json").read_text(), "")})


def no_docker() -> FakeRun:
    err = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is it running?"
    return FakeRun({DOCKER_INFO: (1, "", err)})


def put(root: Path, rel: str, data: str | bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)


@pytest.fixture
def host_tree(tmp_path: Path) -> Path:
    """A fake root holding this host's recorded /proc files and its cgroup v1 layout."""
    put(tmp_path, "proc/sys/kernel/osrelease", (RECORDED / "osrelease").read_text())
    put(tmp_path, "proc/sys/kernel/cap_last_cap", (RECORDED / "cap_last_cap").read_text())
    put(tmp_path, "proc/self/status", (RECORDED / "proc-self-status").read_text())
    put(tmp_path, "proc/self/mountinfo", (RECORDED / "proc-self-mountinfo").read_text())
    put(tmp_path, "proc/config.gz", gzip.compress((RECORDED / "kernel-config").read_bytes()))
    for name in ("cpu", "cpuacct", "memory", "systemd"):
        (tmp_path / "sys/fs/cgroup" / name).mkdir(parents=True)
    put(tmp_path, "sys/fs/cgroup/unified/cgroup.controllers", "")
    return tmp_path


@pytest.fixture
def host_facts(host_tree: Path) -> HostFacts:
    return gather(host_tree, recorded_docker())


def test_recorded_host_facts(host_facts: HostFacts) -> None:
    assert host_facts.kernel == KERNEL
    assert host_facts.cgroup_version == 1
    assert host_facts.cpu_cpuacct_split is True
    assert host_facts.ip_vs is False
    assert host_facts.ip_vs_why == "no /proc/net/ip_vs; /proc/config.gz: CONFIG_IP_VS is not set"
    assert host_facts.nf_tables is True
    assert host_facts.nf_tables_why == "/proc/config.gz: CONFIG_NF_TABLES=y"
    assert host_facts.missing_caps == ("CAP_SYS_RESOURCE",)
    assert host_facts.docker == DockerFacts(
        server_version="20.10.24+dfsg1",
        cgroup_driver="cgroupfs",
        cgroup_version="1",
        default_runtime="svclab-runc",
        runtimes=("io.containerd.runc.v2", "io.containerd.runtime.v1.linux", "runc", "svclab-runc"),
    )


def test_ipvs_blocked_by_missing_ip_vs(host_facts: HostFacts) -> None:
    assert check(host_facts, "ipvs") == [
        "kube-proxy's IPVS mode needs the kernel's ip_vs support, and kernel 6.18.44-fc-v657 "
        "has none (no /proc/net/ip_vs; /proc/config.gz: CONFIG_IP_VS is not set): use "
        "--proxy-mode iptables or nftables on this host, or run the IPVS lab on a host whose kernel has ip_vs."
    ]


def test_ipvs_goes_to_the_vm_when_it_can_start(host_facts: HostFacts) -> None:
    assert check(host_facts, "ipvs", vm_problems=[]) == []


def test_ipvs_says_in_one_sentence_why_the_vm_cannot_start(host_facts: HostFacts) -> None:
    said = check(host_facts, "ipvs", vm_problems=["its disk is not built (x is missing): build it",
                                                    "127.0.0.1:2222, which its SSH needs, is taken"])
    assert said == [
        "kube-proxy's IPVS mode needs ip_vs, which kernel 6.18.44-fc-v657 lacks, so svclab runs the lab's "
        "IPVS node in a qemu VM, and that VM cannot start yet: its disk is not built (x is missing): build it; "
        "127.0.0.1:2222, which its SSH needs, is taken (or use --proxy-mode iptables or nftables)."
    ]


@pytest.mark.parametrize("mode", ["iptables", "nftables"])
def test_iptables_and_nftables_are_fine(host_facts: HostFacts, mode: str) -> None:
    assert check(host_facts, mode) == []


def test_no_docker_engine(host_tree: Path) -> None:
    facts = gather(host_tree, no_docker())
    assert facts.docker is None
    assert check(facts, "iptables") == [
        "No Docker engine answers on this host (docker info: Cannot connect to the Docker "
        "daemon at unix:///var/run/docker.sock. Is it running?): run `lab/host/prepare.sh` "
        "(as root) to install and start one."
    ]
    bare = dataclasses.replace(facts, docker_error="")
    assert check(bare, "iptables") == [
        "No Docker engine answers on this host: run `lab/host/prepare.sh` (as root) to install "
        "and start one."
    ]


def test_docker_client_without_server_counts_as_none(host_tree: Path) -> None:
    out = '{"ServerErrors":["permission denied while trying to connect"],"ClientInfo":{}}'
    facts = gather(host_tree, FakeRun({DOCKER_INFO: (1, out, "")}))
    assert facts.docker is None
    assert facts.docker_error == "permission denied while trying to connect"


def test_missing_caps_without_wrapper_runtime(host_facts: HostFacts) -> None:
    assert host_facts.docker is not None
    plain = dataclasses.replace(
        host_facts, docker=dataclasses.replace(host_facts.docker, default_runtime="runc")
    )
    (sentence,) = check(plain, "iptables")
    assert "CAP_SYS_RESOURCE" in sentence
    assert "`lab/host/prepare.sh`" in sentence
    assert "svclab-runc" in sentence


def test_require_raises_host_error_with_the_sentences(host_facts: HostFacts) -> None:
    require(host_facts, "iptables")
    with pytest.raises(HostError, match=r"^kube-proxy's IPVS mode needs .* has ip_vs\.$"):
        require(host_facts, "ipvs")


def test_unknown_proxy_mode(host_facts: HostFacts) -> None:
    assert check(host_facts, "userspace") == [
        "Unknown proxy mode 'userspace': use one of iptables, ipvs, nftables."
    ]


def test_other_providers_skip_host_checks(host_facts: HostFacts) -> None:
    assert check(dataclasses.replace(host_facts, docker=None), "ipvs", provider="vm") == []


def test_old_kernel_blocks_nftables(host_facts: HostFacts) -> None:
    (sentence,) = check(dataclasses.replace(host_facts, kernel="5.10.0-28-amd64"), "nftables")
    assert "5.13 or later" in sentence


def test_warnings_on_recorded_host(host_facts: HostFacts) -> None:
    notes = warnings(host_facts)
    assert len(notes) == 2
    assert "failCgroupV1: false" in notes[0]
    assert "cpuacct" in notes[1]


def test_cgroup_v2_tree(tmp_path: Path) -> None:
    put(tmp_path, "sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
    put(tmp_path, "proc/self/mountinfo", "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
    facts = gather(tmp_path, no_docker())
    assert facts.cgroup_version == 2
    assert facts.cpu_cpuacct_split is False
    assert warnings(facts) == []


def test_joint_cpu_cpuacct_from_proc_mounts(tmp_path: Path) -> None:
    put(tmp_path, "proc/mounts", "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\n")
    facts = gather(tmp_path, no_docker())
    assert facts.cgroup_version == 1
    assert facts.cpu_cpuacct_split is False


def test_module_config_needs_the_module_file(host_tree: Path) -> None:
    config = "CONFIG_MODULES=y\nCONFIG_IP_VS=m\nCONFIG_NF_TABLES=y\n"
    put(host_tree, "proc/config.gz", gzip.compress(config.encode()))
    facts = gather(host_tree, recorded_docker())
    assert not facts.ip_vs
    assert "CONFIG_IP_VS=m but no ip_vs module" in facts.ip_vs_why
    moddir = f"lib/modules/{KERNEL}"
    put(host_tree, f"{moddir}/modules.dep", "kernel/net/netfilter/ipvs/ip_vs.ko.xz: \n")
    put(host_tree, f"{moddir}/kernel/net/netfilter/ipvs/ip_vs.ko.xz", b"")
    assert gather(host_tree, recorded_docker()).ip_vs


def test_module_config_without_module_support(host_tree: Path) -> None:
    put(
        host_tree, "proc/config.gz", gzip.compress(b"# CONFIG_MODULES is not set\nCONFIG_IP_VS=m\n")
    )
    facts = gather(host_tree, recorded_docker())
    assert not facts.ip_vs
    assert facts.ip_vs_why.endswith("CONFIG_IP_VS=m but CONFIG_MODULES is not set")


def test_loaded_module_and_nft_fallback(tmp_path: Path) -> None:
    put(tmp_path, "proc/modules", "ip_vs 200704 0 - Live 0x0000000000000000\n")
    nft_ok = FakeRun({("nft", "list", "ruleset"): (0, "", "")})
    facts = gather(tmp_path, nft_ok)
    assert facts.ip_vs
    assert facts.nf_tables
    assert facts.nf_tables_why == "`nft list ruleset` works"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux /proc")
def test_gather_on_this_host() -> None:
    facts = gather()
    assert facts.kernel
    assert facts.cgroup_version in (1, 2)
    assert all(cap.startswith("CAP_") for cap in facts.missing_caps)
