"""A node reached over SSH (the IPVS VM): a Shell whose commands run through paramiko, and an
ssh_config that a person (`ssh -F it name`) and testinfra's paramiko backend both read."""

from __future__ import annotations

import shlex
import time
from collections.abc import Sequence
from pathlib import Path

import paramiko

from svclab.core.result import CommandResult


class SshShell:
    def __init__(self, name: str, port: int, key: Path, config_file: Path, address: str = "127.0.0.1") -> None:
        self.name, self.port, self.key, self.config_file = name, port, key, config_file
        self.address = address  # the IPVS VM: qemu's forward on loopback; a Vagrant machine: its own
        self._ssh: paramiko.SSHClient | None = None

    @property
    def host(self) -> str:
        """A testinfra host spec."""
        return f"paramiko://{self.name}?ssh_config={self.ssh_config}"

    @property
    def ssh_config(self) -> Path:
        """An ssh_config naming the node: `ssh -F <it> <name>` logs in."""
        path = self.config_file
        text = (f"Host {self.name}\n  HostName {self.address}\n  Port {self.port}\n  User root\n"
                f"  IdentityFile {self.key}\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
                "  LogLevel ERROR\n")
        # written whenever it differs: a file left by an older lab (another key folder, another
        # port) would send testinfra to a key that is no longer there
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return path

    def run(self, argv: Sequence[str], *, timeout: float = 60.0, stdin: str | None = None) -> CommandResult:
        line = shlex.join(argv)
        shown = ("ssh", "-F", str(self.ssh_config), self.name, line)
        start = time.monotonic()
        try:
            chan = self._client().get_transport().open_session(timeout=10)  # type: ignore[union-attr]
            chan.settimeout(timeout)
            chan.exec_command(line)
            if stdin is not None:
                chan.sendall(stdin.encode())
                chan.shutdown_write()
            # stderr stays small here, so reading stdout to its end first cannot stall it
            out = chan.makefile("rb").read().decode(errors="replace")
            err = chan.makefile_stderr("rb").read().decode(errors="replace")
            rc = chan.recv_exit_status()
        except (OSError, paramiko.SSHException, EOFError) as exc:
            self.close()
            return CommandResult(f"node/{self.name}", shown, 255, "", f"svclab: ssh: {exc}", time.monotonic() - start)
        return CommandResult(f"node/{self.name}", shown, rc, out, err, time.monotonic() - start)

    def close(self) -> None:
        if self._ssh is not None:
            self._ssh.close()
            self._ssh = None

    def _client(self) -> paramiko.SSHClient:
        transport = self._ssh.get_transport() if self._ssh else None
        if self._ssh is None or transport is None or not transport.is_active():
            client = paramiko.SSHClient()
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # a disposable lab VM
            client.connect(self.address, port=self.port, username="root", key_filename=str(self.key),
                           look_for_keys=False, allow_agent=False, timeout=5, banner_timeout=10, auth_timeout=10)
            self._ssh = client
        return self._ssh
