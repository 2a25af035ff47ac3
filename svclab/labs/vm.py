"""The IPVS VM: qemu (software emulation) running the disk the image factory built.

Its Debian kernel has ip_vs, which this host's kernel lacks. It has two NICs: a tap on the
lab's Docker bridge (the lab network, no gateway) and qemu's user network with restrict=on,
which only carries SSH from 127.0.0.1 on the host. Commands run over SSH (svclab/core/ssh.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from svclab.core.catalog import PINS, Pins, vm_files, vm_key
from svclab.core.errors import LabError, WaitTimeout
from svclab.core.result import run
from svclab.core.ssh import SshShell
from svclab.core.wait import wait_for

MGMT_MAC = "52:54:00:5c:00:01"
LAB_MAC = "52:54:00:5c:01:01"
BUILD_VM_HINT = "run `python -m svclab.images --k8s-version {minor}` to build it"


@dataclass(frozen=True)
class VmConfig:
    name: str  # also the node's name
    address: str  # on the lab network
    prefix: int
    bridge: str  # the lab network's Linux bridge
    ssh_port: int = 2222
    cpus: int = 2
    memory_mb: int = 3072


class Vm:
    def __init__(self, config: VmConfig, cache: Path, state: Path, pins: Pins = PINS) -> None:
        self.config = config
        self.cache = cache
        self.pins = pins
        self.files = (*vm_files(pins), vm_key(pins))  # disk, kernel, initrd, SSH key: built per version
        self.state = state
        self.tap = f"svl{hashlib.sha256(config.name.encode()).hexdigest()[:11]}"  # 15 chars, one per node name
        self.pidfile = state / "qemu.pid"
        self.console = state / "console.log"
        self.ssh = SshShell(config.name, config.ssh_port, self.cache / self.files[3], state / "ssh_config")

    @property
    def key(self) -> Path:
        return self.cache / self.files[3]

    # -- checks before anything starts --------------------------------------------------
    def problems(self) -> list[str]:
        """What stops the VM from starting, as phrases ("its disk is not built ...")."""
        out = []
        missing = [f for f in self.files if not (self.cache / f).exists()]
        if missing:
            hint = BUILD_VM_HINT.format(minor=self.pins.minor)
            out.append(f"its disk is not built ({self.cache / missing[0]} is missing): {hint}")
        if not shutil.which("qemu-system-x86_64") or not shutil.which("qemu-img"):
            out.append("qemu-system-x86_64 or qemu-img is missing: run `bash lab/host/prepare.sh`")
        if not Path("/dev/net/tun").exists():
            out.append("/dev/net/tun is missing, so it could not join the lab network")
        if not self.running() and _port_taken(self.config.ssh_port):
            out.append(f"127.0.0.1:{self.config.ssh_port}, which its SSH needs, is taken")
        return out

    # -- life cycle -----------------------------------------------------------------
    def running(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        return pid if b"qemu-system" in cmdline else None

    def start(self) -> None:
        if self.running():
            return
        self.state.mkdir(parents=True, exist_ok=True)
        overlay = self.state / "overlay.qcow2"
        overlay.unlink(missing_ok=True)
        run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b",
             str(self.cache / self.files[0]), str(overlay)]).check("qemu-img create")
        self._tap(True)
        self.console.write_text("")
        self.pidfile.unlink(missing_ok=True)
        run(self.qemu_argv(overlay)).check("qemu-system-x86_64 (the IPVS VM)")

    def qemu_argv(self, overlay: Path) -> list[str]:
        c = self.config
        # IPv4 only, like the kind nodes: the lab's fence is an iptables rule
        append = (f"root=/dev/vda rw console=ttyS0 mitigations=off panic=5 quiet ipv6.disable=1 "
                  f"systemd.hostname={c.name}")
        return [
            "qemu-system-x86_64", "-name", c.name, "-machine", "q35",
            "-accel", "tcg,thread=multi,tb-size=512", "-cpu", "max", "-smp", str(c.cpus), "-m", str(c.memory_mb),
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-kernel", str(self.cache / self.files[1]), "-initrd", str(self.cache / self.files[2]),
            "-append", append,
            "-drive", f"file={overlay},if=virtio,format=qcow2,cache=unsafe",
            "-netdev", f"user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:{c.ssh_port}-:22",
            "-device", f"virtio-net-pci,netdev=mgmt,mac={MGMT_MAC}",
            "-netdev", f"tap,id=lab,ifname={self.tap},script=no,downscript=no",
            "-device", f"virtio-net-pci,netdev=lab,mac={LAB_MAC}",
            "-device", "virtio-rng-pci",
            "-serial", f"file:{self.console}", "-monitor", "none",
            "-daemonize", "-pidfile", str(self.pidfile),
        ]

    def wait_ssh(self, timeout: float = 300) -> None:
        def answers() -> bool:
            if not self.running():
                raise LabError(f"the IPVS VM's qemu exited before SSH answered; console: {self.console_tail()}")
            return _ssh_banner(self.config.ssh_port) and self.ssh.run(["true"], timeout=10).ok

        wait_for(answers, what="SSH into the IPVS VM", timeout=timeout, interval=1,
                 describe=self.console_tail)

    def join_lab_network(self, hosts: dict[str, str]) -> None:
        """Give the lab NIC its address (no gateway) and name the kind nodes in /etc/hosts."""
        c = self.config
        lines = "\n".join(f"{ip}\t{name}" for name, ip in sorted(hosts.items()))
        script = (
            f"nic=$(ip -o link | awk -F': ' '/{LAB_MAC}/ {{print $2}}'); "
            f"ip addr replace {c.address}/{c.prefix} dev $nic && ip link set $nic up && "
            f"printf '127.0.0.1\\tlocalhost\\n{c.address}\\t{c.name}\\n%s\\n' {shlex.quote(lines)} > /etc/hosts"
        )
        self.ssh.run(["sh", "-c", script]).check("configuring the IPVS VM's lab NIC")

    def stop(self) -> None:
        """End qemu (the disk overlay is thrown away, so nothing in the guest is worth a
        clean shutdown), then remove the tap."""
        self.ssh.close()
        pid = self.running()
        try:
            if pid:
                _signal(pid, 15)
                try:
                    wait_for(lambda: self.running() is None, what="qemu to exit", timeout=20, interval=0.2)
                except WaitTimeout:
                    _signal(pid, 9)
                    wait_for(lambda: self.running() is None, what="qemu to exit after SIGKILL", timeout=10,
                             interval=0.2)
        finally:
            self._tap(False)
            self.pidfile.unlink(missing_ok=True)
            (self.state / "overlay.qcow2").unlink(missing_ok=True)

    def console_tail(self, lines: int = 15) -> str:
        try:
            text = self.console.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return "(no console log)"
        return "\n".join(f"    | {line}" for line in text)

    def _tap(self, on: bool) -> None:
        exists = run(["ip", "link", "show", self.tap]).ok
        if on:
            if not exists:
                run(["ip", "tuntap", "add", "dev", self.tap, "mode", "tap"]).check("ip tuntap add")
            # always: a tap left by an earlier run may hang on a bridge that no longer exists
            run(["ip", "link", "set", self.tap, "master", self.config.bridge, "up"]).check("ip link set master")
        elif exists:
            run(["ip", "link", "del", self.tap])


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it exited in the meantime
        os.kill(pid, sig)


def _ssh_banner(port: int) -> bool:
    """sshd in the guest answers (qemu accepts the connection long before sshd is up)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.settimeout(5)
            return s.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0

