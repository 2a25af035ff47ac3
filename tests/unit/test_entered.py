"""A probe on the IPVS VM is entered with nsenter over the VM's SSH session (core/shell.py):
its PID read from containerd's real task list, recorded on the IPVS lab's VM."""

from __future__ import annotations

from pathlib import Path

import pytest

from svclab.core.result import CommandError
from svclab.core.shell import EnteredShell, enter
from tests.unit.recorded_shell import RecordedShell

LISTING = (Path(__file__).parent.parent / "recorded" / "lab" / "ipvs-vm" / "ctr-task-ls.txt").read_text()
GONE = (Path(__file__).parent.parent / "recorded" / "lab" / "ipvs-vm" / "nsenter-gone.txt").read_text()
PROBE = (Path(__file__).parent.parent / "recorded" / "lab" / "ipvs-vm" / "probe-container-id.txt").read_text().strip()


def test_the_probe_container_is_found_by_its_id_and_entered_with_its_pid() -> None:
    node = RecordedShell(LISTING, host="node/svclab-vm")
    shell = enter(node, "probe", PROBE)
    want = next(int(line.split()[1]) for line in LISTING.splitlines() if line.startswith(PROBE.split("://")[1]))
    assert shell == EnteredShell(node, want, "probe")
    ran = shell.run(["curl", "-s", "http://10.96.0.10/"])
    assert ran.argv[:9] == ("nsenter", "-t", str(want), "-m", "-n", "-u", "-i", "-r", "-w")
    assert ran.argv[-3:] == ("curl", "-s", "http://10.96.0.10/")


def test_a_container_not_running_there_is_an_error_with_the_listing() -> None:
    with pytest.raises(CommandError, match="not a running task on node/svclab-vm") as caught:
        enter(RecordedShell(LISTING, host="node/svclab-vm"), "probe", "containerd://" + "0" * 64)
    assert caught.value.result.stdout == LISTING


def test_nsenter_failing_is_never_read_as_the_command_s_own_exit() -> None:
    class Gone(RecordedShell):
        def run(self, argv, *, timeout=60.0, stdin=None):  # type: ignore[no-untyped-def]
            done = super().run(argv, timeout=timeout, stdin=stdin)
            return type(done)(done.where, done.argv, 1, "", GONE, 0.01)  # recorded: nsenter -t 999999 on the VM
    with pytest.raises(CommandError, match="entering pod probe"):
        EnteredShell(Gone(""), 4242, "probe").run(["curl", "http://10.96.0.10/"])
