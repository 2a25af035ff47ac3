"""Read what the host kernel offers from /proc, /sys, /boot and /lib/modules: its version,
config, modules, cgroup mounts and the capability bounding set. Paths are under a root so that
the unit tests read recorded trees."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

PROC_FILES = {"ip_vs": "proc/net/ip_vs"}  # present whenever the module is in the kernel

# linux/capability.h, in bit order (0 .. 40).
_CAPS = """CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE
SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME
SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG
WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE"""
CAP_NAMES = tuple(f"CAP_{name}" for name in _CAPS.split())


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def kernel_version(release: str) -> tuple[int, int] | None:
    match = re.match(r"(\d+)\.(\d+)", release)
    return (int(match[1]), int(match[2])) if match else None


def kernel_config(root: Path, release: str) -> tuple[dict[str, str] | None, str]:
    """The kernel config as {symbol: value} (unset ones absent) and its file, or (None, "")."""
    text: str | None = None
    source = "/proc/config.gz"
    try:
        text = gzip.decompress((root / "proc/config.gz").read_bytes()).decode(errors="replace")
    except (OSError, EOFError):
        source = f"/boot/config-{release}"
        text = read_text(root / source.lstrip("/"))
    if text is None:
        return None, ""
    lines = (line.strip().partition("=") for line in text.splitlines())
    return {key: value for key, _, value in lines if key.startswith("CONFIG_") and value}, source


def module_names(text: str | None) -> dict[str, str]:
    """{name: first field} of /proc/modules, modules.builtin or modules.dep lines."""
    fields = (line.split(":", 1)[0].split(" ", 1)[0] for line in (text or "").splitlines())
    return {Path(f).name.split(".ko", 1)[0].replace("-", "_"): f for f in fields if f}


def loadable(moddir: Path, module: str) -> bool:
    """The module is listed in modules.dep and its file is there."""
    path = module_names(read_text(moddir / "modules.dep")).get(module)
    return path is not None and (moddir / path).is_file()


def kernel_feature(
    root: Path, release: str, kconfig: tuple[dict[str, str] | None, str], symbol: str, module: str
) -> tuple[bool, str]:
    """Whether the kernel has `module` (built in or loadable) and the evidence for it."""
    config, config_src = kconfig
    proc_file = PROC_FILES.get(module)
    if proc_file and (root / proc_file).exists():
        return True, f"/{proc_file} exists"
    if module in module_names(read_text(root / "proc/modules")):
        return True, f"{module} is in /proc/modules"
    moddir = root / "lib/modules" / release
    if module in module_names(read_text(moddir / "modules.builtin")):
        return True, f"{module} is in /lib/modules/{release}/modules.builtin"
    absent = [f"no /{proc_file}"] if proc_file else []
    value = (config or {}).get(symbol, "n")
    if config is None:
        if loadable(moddir, module):
            return True, f"{module} is in /lib/modules/{release}/modules.dep"
        reason = f"no kernel config, and no {module} module under /lib/modules/{release}"
    elif value == "y":
        return True, f"{config_src}: {symbol}=y"
    elif value != "m":
        reason = f"{config_src}: {symbol} is not set"
    elif config.get("CONFIG_MODULES") != "y":
        reason = f"{config_src}: {symbol}=m but CONFIG_MODULES is not set"
    elif loadable(moddir, module):
        return True, f"{config_src}: {symbol}=m and the module is under /lib/modules/{release}"
    else:
        reason = f"{config_src}: {symbol}=m but no {module} module under /lib/modules/{release}"
    return False, "; ".join([*absent, reason])


def cgroup_mounts(root: Path) -> list[tuple[str, str, frozenset[str]]]:
    """(mount point, fs type, options) of cgroup mounts, from mountinfo or /proc/mounts."""
    mounts = []
    if (text := read_text(root / "proc/self/mountinfo")) is not None:
        for parts in (line.split() for line in text.splitlines()):
            if "-" in parts and len(parts) > (sep := parts.index("-")) + 3:
                mounts.append((parts[4], parts[sep + 1], frozenset(parts[sep + 3].split(","))))
    else:
        for parts in (line.split() for line in (read_text(root / "proc/mounts") or "").splitlines()):
            if len(parts) >= 4:
                mounts.append((parts[1], parts[2], frozenset(parts[3].split(","))))
    return [m for m in mounts if m[1] in ("cgroup", "cgroup2")]


def cgroup_version(root: Path, mounts: list[tuple[str, str, frozenset[str]]]) -> int:
    """2 only for a unified hierarchy at /sys/fs/cgroup; hybrid hosts count as 1."""
    unified = ("/sys/fs/cgroup", "cgroup2") in {m[:2] for m in mounts}
    return 2 if unified or (root / "sys/fs/cgroup/cgroup.controllers").exists() else 1


def cpu_cpuacct_split(mounts: list[tuple[str, str, frozenset[str]]]) -> bool:
    v1 = [opts for _, fstype, opts in mounts if fstype == "cgroup"]
    cpu_alone = any("cpu" in o and "cpuacct" not in o for o in v1)
    return cpu_alone and any("cpuacct" in o and "cpu" not in o for o in v1)


def missing_caps(root: Path) -> tuple[str, ...]:
    """Capabilities this kernel knows (up to cap_last_cap) that CapBnd lacks."""
    status = read_text(root / "proc/self/status") or ""
    match = re.search(r"^CapBnd:\s*([0-9a-fA-F]+)", status, re.MULTILINE)
    if match is None:
        return ()
    bnd = int(match[1], 16)
    last_text = (read_text(root / "proc/sys/kernel/cap_last_cap") or "").strip()
    last = int(last_text) if last_text.isdigit() else len(CAP_NAMES) - 1
    names = [CAP_NAMES[b] if b < len(CAP_NAMES) else f"CAP_{b}" for b in range(last + 1)]
    return tuple(name for bit, name in enumerate(names) if not bnd >> bit & 1)
