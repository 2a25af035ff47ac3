"""Facts about this host, gathered before anything is provisioned, and the checks on them.

`gather()` reads files under `root` (so tests can hand it a fake tree) and runs commands only
through `run_cmd`; `check()` turns facts into blocking sentences, `warnings()` into notes.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from svclab.errors import HostError
from svclab.result import CommandResult, run

PROXY_MODES = ("iptables", "ipvs", "nftables")
WRAPPER_RUNTIME = "svclab-runc"
PREPARE = "`lab/host/prepare.sh` (as root)"
NFTABLES_MIN_KERNEL = (5, 13)  # kube-proxy: pkg/util/kernel NFTablesKubeProxyKernelVersion
CMD_TIMEOUT = 30.0
PROC_FILES = {"ip_vs": "proc/net/ip_vs"}  # present whenever the module is in the kernel

# linux/capability.h, in bit order (0 .. 40).
_CAPS = """CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE
SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME
SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG
WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE"""
CAP_NAMES = tuple(f"CAP_{name}" for name in _CAPS.split())


class RunCmd(Protocol):
    """What gather() needs from a command runner; `svclab.result.run` is one."""

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
    osrelease = _read(root / "proc/sys/kernel/osrelease")
    kernel = osrelease.strip() if osrelease else os.uname().release
    kconfig = _kernel_config(root, kernel)
    mounts = _cgroup_mounts(root)
    ip_vs, ip_vs_why = _kernel_feature(root, kernel, kconfig, "CONFIG_IP_VS", "ip_vs")
    nf_tables, nf_why = _kernel_feature(root, kernel, kconfig, "CONFIG_NF_TABLES", "nf_tables")
    if (
        not nf_tables
        and kconfig[0] is None
        and run_cmd(["nft", "list", "ruleset"], timeout=CMD_TIMEOUT).ok
    ):
        nf_tables, nf_why = True, "`nft list ruleset` works"
    docker, docker_error = _docker(run_cmd)
    return HostFacts(
        kernel=kernel,
        cgroup_version=_cgroup_version(root, mounts),
        cpu_cpuacct_split=_cpu_cpuacct_split(mounts),
        ip_vs=ip_vs,
        nf_tables=nf_tables,
        missing_caps=_missing_caps(root),
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
        version = _kernel_version(facts.kernel)
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


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def _kernel_version(release: str) -> tuple[int, int] | None:
    match = re.match(r"(\d+)\.(\d+)", release)
    return (int(match[1]), int(match[2])) if match else None


def _kernel_config(root: Path, release: str) -> tuple[dict[str, str] | None, str]:
    """The kernel config as {symbol: value} (unset ones absent) and its file, or (None, "")."""
    text: str | None = None
    source = "/proc/config.gz"
    try:
        text = gzip.decompress((root / "proc/config.gz").read_bytes()).decode(errors="replace")
    except (OSError, EOFError):
        source = f"/boot/config-{release}"
        text = _read(root / source.lstrip("/"))
    if text is None:
        return None, ""
    lines = (line.strip().partition("=") for line in text.splitlines())
    return {key: value for key, _, value in lines if key.startswith("CONFIG_") and value}, source


def _module_names(text: str | None) -> dict[str, str]:
    """{name: first field} of /proc/modules, modules.builtin or modules.dep lines."""
    fields = (line.split(":", 1)[0].split(" ", 1)[0] for line in (text or "").splitlines())
    return {Path(f).name.split(".ko", 1)[0].replace("-", "_"): f for f in fields if f}


def _loadable(moddir: Path, module: str) -> bool:
    """The module is listed in modules.dep and its file is there."""
    path = _module_names(_read(moddir / "modules.dep")).get(module)
    return path is not None and (moddir / path).is_file()


def _kernel_feature(
    root: Path, release: str, kconfig: tuple[dict[str, str] | None, str], symbol: str, module: str
) -> tuple[bool, str]:
    """Whether the kernel has `module` (built in or loadable) and the evidence for it."""
    config, config_src = kconfig
    proc_file = PROC_FILES.get(module)
    if proc_file and (root / proc_file).exists():
        return True, f"/{proc_file} exists"
    if module in _module_names(_read(root / "proc/modules")):
        return True, f"{module} is in /proc/modules"
    moddir = root / "lib/modules" / release
    if module in _module_names(_read(moddir / "modules.builtin")):
        return True, f"{module} is in /lib/modules/{release}/modules.builtin"
    absent = [f"no /{proc_file}"] if proc_file else []
    value = (config or {}).get(symbol, "n")
    if config is None:
        if _loadable(moddir, module):
            return True, f"{module} is in /lib/modules/{release}/modules.dep"
        reason = f"no kernel config, and no {module} module under /lib/modules/{release}"
    elif value == "y":
        return True, f"{config_src}: {symbol}=y"
    elif value != "m":
        reason = f"{config_src}: {symbol} is not set"
    elif config.get("CONFIG_MODULES") != "y":
        reason = f"{config_src}: {symbol}=m but CONFIG_MODULES is not set"
    elif _loadable(moddir, module):
        return True, f"{config_src}: {symbol}=m and the module is under /lib/modules/{release}"
    else:
        reason = f"{config_src}: {symbol}=m but no {module} module under /lib/modules/{release}"
    return False, "; ".join([*absent, reason])


def _cgroup_mounts(root: Path) -> list[tuple[str, str, frozenset[str]]]:
    """(mount point, fs type, options) of cgroup mounts, from mountinfo or /proc/mounts."""
    mounts = []
    if (text := _read(root / "proc/self/mountinfo")) is not None:
        for parts in (line.split() for line in text.splitlines()):
            if "-" in parts and len(parts) > (sep := parts.index("-")) + 3:
                mounts.append((parts[4], parts[sep + 1], frozenset(parts[sep + 3].split(","))))
    else:
        for parts in (line.split() for line in (_read(root / "proc/mounts") or "").splitlines()):
            if len(parts) >= 4:
                mounts.append((parts[1], parts[2], frozenset(parts[3].split(","))))
    return [m for m in mounts if m[1] in ("cgroup", "cgroup2")]


def _cgroup_version(root: Path, mounts: list[tuple[str, str, frozenset[str]]]) -> int:
    """2 only for a unified hierarchy at /sys/fs/cgroup; hybrid hosts count as 1."""
    unified = ("/sys/fs/cgroup", "cgroup2") in {m[:2] for m in mounts}
    return 2 if unified or (root / "sys/fs/cgroup/cgroup.controllers").exists() else 1


def _cpu_cpuacct_split(mounts: list[tuple[str, str, frozenset[str]]]) -> bool:
    v1 = [opts for _, fstype, opts in mounts if fstype == "cgroup"]
    cpu_alone = any("cpu" in o and "cpuacct" not in o for o in v1)
    return cpu_alone and any("cpuacct" in o and "cpu" not in o for o in v1)


def _missing_caps(root: Path) -> tuple[str, ...]:
    """Capabilities this kernel knows (up to cap_last_cap) that CapBnd lacks."""
    status = _read(root / "proc/self/status") or ""
    match = re.search(r"^CapBnd:\s*([0-9a-fA-F]+)", status, re.MULTILINE)
    if match is None:
        return ()
    bnd = int(match[1], 16)
    last_text = (_read(root / "proc/sys/kernel/cap_last_cap") or "").strip()
    last = int(last_text) if last_text.isdigit() else len(CAP_NAMES) - 1
    names = [CAP_NAMES[b] if b < len(CAP_NAMES) else f"CAP_{b}" for b in range(last + 1)]
    return tuple(name for bit, name in enumerate(names) if not bnd >> bit & 1)


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
