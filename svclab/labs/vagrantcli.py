"""Vagrant, driven as a command (there is no Python API): the svclab Vagrantfile with one lab's
settings, its machine data kept in the lab's state folder (VAGRANT_DOTFILE_PATH), so that the
Vagrantfile's folder holds no state and two labs never share machines.

Offline by construction: no version check, no box update check; the box is added from the file
the image factory made.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

from svclab.core.result import CommandResult, run

UP_TIMEOUT = 3600.0  # s: three machines under emulation, kubeadm on each (measured: see docs)


@dataclass
class VagrantCli:
    folder: Path  # where the Vagrantfile is
    state: Path  # the lab's state folder: settings.json, .vagrant/, logs
    settings: dict[str, object] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {
            "VAGRANT_CWD": str(self.folder),
            "VAGRANT_DOTFILE_PATH": str(self.state / ".vagrant"),
            "SVCLAB_VAGRANT_SETTINGS": str(self.state / "settings.json"),
            "VAGRANT_DEFAULT_PROVIDER": "libvirt",
            "VAGRANT_CHECKPOINT_DISABLE": "1",
            "VAGRANT_BOX_UPDATE_CHECK_DISABLE": "1",
            "VAGRANT_NO_COLOR": "1",
        }

    def write_settings(self) -> Path:
        self.state.mkdir(parents=True, exist_ok=True)
        path = self.state / "settings.json"
        path.write_text(json.dumps(self.settings, indent=2) + "\n")
        return path

    def run(self, *args: str, timeout: float = 300.0) -> CommandResult:
        return run(["vagrant", *args], env=self.env, timeout=timeout, where="vagrant")

    def up(self, log: Path) -> int:
        """`vagrant up`, its output to `log`. It runs in its own session: a Ctrl-C reaches this
        process only, which passes one SIGINT on (Vagrant then destroys what it was creating) and
        waits for Vagrant to finish that before the interrupt goes on."""
        try:
            with log.open("a") as out:
                proc = subprocess.Popen(["vagrant", "up", "--provider", "libvirt"], env={**os.environ, **self.env},
                                        stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
                try:
                    return proc.wait(timeout=UP_TIMEOUT)
                except BaseException:
                    if proc.poll() is None:
                        proc.send_signal(signal.SIGINT)
                        try:
                            proc.wait(timeout=300)
                        except subprocess.TimeoutExpired:
                            proc.kill()
                            proc.wait()
                    raise
        finally:
            with log.open(newline="", errors="replace") as raw:  # keep the meter's carriage returns
                text = raw.read()
            log.write_text(tidy(text))

    def status(self) -> dict[str, str]:
        """Machine -> state ("running", "not_created", "shutoff" ...), from --machine-readable."""
        found = self.run("status", "--machine-readable", timeout=120)
        return machine_states(found.stdout) if found.ok else {}

    def ssh_config(self) -> dict[str, str]:
        """Machine -> the address Vagrant reaches it at (its management DHCP lease)."""
        found = self.run("ssh-config", timeout=120).check("vagrant ssh-config")
        return ssh_hosts(found.stdout)

    def destroy(self) -> CommandResult:
        return self.run("destroy", "-f", timeout=600)

    def boxes(self) -> set[str]:
        found = self.run("box", "list", "--machine-readable", timeout=120)
        return box_names(found.stdout) if found.ok else set()

    def add_box(self, name: str, path: Path) -> CommandResult:
        return self.run("box", "add", "--force", "--name", name, str(path), timeout=1800)

    def plugins(self) -> CommandResult:
        return self.run("plugin", "list", timeout=120)


def machine_states(text: str) -> dict[str, str]:
    """`vagrant status --machine-readable` lines: timestamp,target,type,data."""
    out = {}
    for line in text.splitlines():
        parts = line.split(",", 3)
        if len(parts) == 4 and parts[2] == "state" and parts[1]:
            out[parts[1]] = parts[3]
    return out


def box_names(text: str) -> set[str]:
    return {line.split(",", 3)[3] for line in text.splitlines()
            if line.count(",") >= 3 and line.split(",", 3)[2] == "box-name"}


def ssh_hosts(text: str) -> dict[str, str]:
    """The HostName of every Host in `vagrant ssh-config` output (paramiko reads the format)."""
    config = paramiko.SSHConfig.from_text(text)
    return {host: config.lookup(host)["hostname"] for host in config.get_hostnames() if host != "*"}



# the box upload's progress meter: thousands of "ESC[K Progress: n%" on one line
PROGRESS = re.compile(r"\x1b\[KProgress: [^\r\n\x1b]*\r?|\x1b\[K")
PROVISION_FAILED = re.compile(r"svclab-provision \(([^)]+)\) failed: (.*)")
FAILURE = re.compile(r"action on the\s+'([^']+)'\s+machine\. Please [^:]*:\s*\n\s*\n(.+?)(?:\n\s*\n|\Z)", re.S)


def tidy(text: str) -> str:
    """The log without the progress meter (12,767 repeats, 200 kB, on the first measured up)."""
    return PROGRESS.sub("", text)


def up_failures(text: str) -> list[str]:
    """Vagrant's account of a failed `up`, one phrase a machine, and the provisioner's own
    "failed:" lines (what the shell script said before it stopped)."""
    out = [f"{machine}: {' '.join(message.split())}" for machine, message in FAILURE.findall(text)]
    out += [f"{machine}: {why.strip()}" for machine, why in PROVISION_FAILED.findall(text)]
    return out
