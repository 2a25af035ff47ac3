"""Facts about this host, gathered before anything is provisioned, and the checks on them.

`gather()` reads files under `root` (so tests can hand it a fake tree) and runs commands only
through `run_cmd`; `check()` turns facts into blocking sentences, `warnings()` into notes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from svclab.core.errors import HostError
from svclab.core.result import CommandResult, run
from svclab.labs.hostkernel import (
    cgroup_mounts,
    cgroup_version,
    cpu_cpuacct_split,
    kernel_config,
    kernel_feature,
    kernel_version,
    missing_caps,
    read_text,
)

PROXY_MODES = ("iptables", "ipvs", "nftables")
WRAPPER_RUNTIME = "svclab-runc"
PREPARE = "`lab/host/prepare.sh` (as root)"
NFTABLES_MIN_KERNEL = (5, 13)  # kube-proxy: pkg/util/kernel NFTablesKubeProxyKernelVersion
CMD_TIMEOUT = 30.0


class RunCmd(Protocol):
    """What gather() needs from a command runner; `svclab.core.result.run` is one."""

    def __call__(self, argv: Sequence[str], *, timeout: float = ...) -> CommandResult: ...


@dataclass(frozen=True)
class DockerFacts:
    """The parts of `docker info` the kind lab depends on."""

    server_version: str
    cgroup_driver: str
    cgroup_version: str
    default_runtime: str
    runtimes: tuple[str, ...]


@dataclass(frozen=True)
class HostFacts:
    """What this host offers; the `*_why` fields say where a kernel answer came from."""

    kernel: str
    cgroup_version: int
    cpu_cpuacct_split: bool
    ip_vs: bool
    nf_tables: bool
    missing_caps: tuple[str, ...]
    docker: DockerFacts | None
    ip_vs_why: str = ""
    nf_tables_why: str = ""
    docker_error: str = ""


def gather(root: Path = Path("/"), run_cmd: RunCmd = run) -> HostFacts:
    """Read this host's facts; files relative to `root`, commands through `run_cmd`."""
    osrelease = read_text(root / "proc/sys/kernel/osrelease")
    kernel = osrelease.strip() if osrelease else os.uname().release
    kconfig = kernel_config(root, kernel)
    mounts = cgroup_mounts(root)
    ip_vs, ip_vs_why = kernel_feature(root, kernel, kconfig, "CONFIG_IP_VS", "ip_vs")
    nf_tables, nf_why = kernel_feature(root, kernel, kconfig, "CONFIG_NF_TABLES", "nf_tables")
    if (
        not nf_tables
        and kconfig[0] is None
        and run_cmd(["nft", "list", "ruleset"], timeout=CMD_TIMEOUT).ok
    ):
        nf_tables, nf_why = True, "`nft list ruleset` works"
    docker, docker_error = _docker(run_cmd)
    return HostFacts(
        kernel=kernel,
        cgroup_version=cgroup_version(root, mounts),
        cpu_cpuacct_split=cpu_cpuacct_split(mounts),
        ip_vs=ip_vs,
        nf_tables=nf_tables,
        missing_caps=missing_caps(root),
        docker=docker,
        ip_vs_why=ip_vs_why,
        nf_tables_why=nf_why,
        docker_error=docker_error,
    )


def check(facts: HostFacts, proxy_mode: str, provider: str = "kind",
          vm_problems: list[str] | None = None) -> list[str]:
    """One sentence per problem that blocks `proxy_mode` on `provider`; [] when fine.

    Docker and kernel checks apply to the kind lab only: its nodes are containers on this
    host's Docker engine and kernel. The VM lab brings its own kernel. `vm_problems` is what
    stops the IPVS VM (None: no VM route offered; []: the VM can run the IPVS node).
    """
    problems: list[str] = []
    if proxy_mode not in PROXY_MODES:
        problems.append(f"Unknown proxy mode {proxy_mode!r}: use one of {', '.join(PROXY_MODES)}.")
    if provider != "kind":
        return problems
    if facts.docker is None:
        said = f" (docker info: {facts.docker_error.rstrip('.')})" if facts.docker_error else ""
        problems.append(
            f"No Docker engine answers on this host{said}: run {PREPARE} to install and start one."
        )
    elif facts.missing_caps and facts.docker.default_runtime != WRAPPER_RUNTIME:
        problems.append(
            f"This host's capability bounding set lacks {', '.join(facts.missing_caps)}, so "
            f'privileged containers such as kind nodes fail ("unable to apply caps") under '
            f"Docker's default runtime {facts.docker.default_runtime}: run {PREPARE} to make "
            f"the `{WRAPPER_RUNTIME}` wrapper the default runtime."
        )
    if proxy_mode == "ipvs" and not facts.ip_vs and vm_problems is None:
        problems.append(
            f"kube-proxy's IPVS mode needs the kernel's ip_vs support, and kernel {facts.kernel} "
            f"has none ({facts.ip_vs_why}): use --proxy-mode iptables or nftables on this host, "
            "or run the IPVS lab on a host whose kernel has ip_vs."
        )
    elif proxy_mode == "ipvs" and not facts.ip_vs and vm_problems:
        problems.append(
            f"kube-proxy's IPVS mode needs ip_vs, which kernel {facts.kernel} lacks, so svclab runs "
            f"the lab's IPVS node in a qemu VM, and that VM cannot start yet: "
            f"{'; '.join(vm_problems)} (or use --proxy-mode iptables or nftables)."
        )
    if proxy_mode == "nftables":
        if not facts.nf_tables:
            problems.append(
                f"kube-proxy's nftables mode needs the kernel's nf_tables support, and kernel "
                f"{facts.kernel} has none ({facts.nf_tables_why}): use --proxy-mode iptables."
            )
        version = kernel_version(facts.kernel)
        if version is not None and version < NFTABLES_MIN_KERNEL:
            need = ".".join(map(str, NFTABLES_MIN_KERNEL))
            problems.append(
                f"kube-proxy's nftables mode needs kernel {need} or later, and this host runs "
                f"{facts.kernel}: use --proxy-mode iptables."
            )
    return problems


def require(facts: HostFacts, proxy_mode: str, provider: str = "kind") -> None:
    """Raise HostError carrying every sentence check() gives; return quietly when fine."""
    if problems := check(facts, proxy_mode, provider):
        raise HostError(" ".join(problems))


def warnings(facts: HostFacts) -> list[str]:
    """Facts that block nothing by themselves but explain failures later on."""
    notes: list[str] = []
    if facts.cgroup_version == 1:
        notes.append(
            "This host runs cgroup v1: kubelet from Kubernetes 1.35 on refuses to start on it "
            "unless its configuration sets `failCgroupV1: false`."
        )
    if facts.cpu_cpuacct_split:
        notes.append(
            "The cgroup v1 cpu and cpuacct controllers are mounted as separate hierarchies here, "
            "not as the usual joint cpu,cpuacct: suspect this layout first when a node fails on "
            "a cpu or cpuacct cgroup path."
        )
    return notes



def _docker(run_cmd: RunCmd) -> tuple[DockerFacts | None, str]:
    """Facts from `docker info`, or None and the first thing docker said about why not."""
    result = run_cmd(["docker", "info", "--format", "{{json .}}"], timeout=CMD_TIMEOUT)
    try:
        info: Any = json.loads(result.stdout or "{}")
    except ValueError:
        info = {}
    if not isinstance(info, dict):
        info = {}
    errors = [str(e) for e in info.get("ServerErrors") or []]
    if not result.ok or errors or not info.get("ServerVersion"):
        said = [*errors, *result.stderr.strip().splitlines()]
        return None, (said[0].strip() if said else f"exit code {result.rc}")
    return DockerFacts(
        server_version=str(info["ServerVersion"]),
        cgroup_driver=str(info.get("CgroupDriver", "")),
        cgroup_version=str(info.get("CgroupVersion", "")),
        default_runtime=str(info.get("DefaultRuntime", "")),
        runtimes=tuple(sorted(info.get("Runtimes") or {})),
    ), ""
