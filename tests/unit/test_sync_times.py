"""kube-proxy's sync times, read from its metrics as recorded on a lab node (tests/recorded/lab)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from svclab.core.result import CommandResult
from svclab.observe.kubeproxy import sync_times, synced_after

LAB = Path(__file__).parent.parent / "recorded" / "lab"


class Recorded:
    """A node shell that answers every command with the recorded metrics."""

    def __init__(self, text: str, rc: int = 0) -> None:
        self.text, self.rc = text, rc

    def run(self, argv: Sequence[str], *, timeout: float = 60.0, stdin: str | None = None) -> CommandResult:
        return CommandResult("node/svclab-worker", tuple(argv), self.rc, self.text, "", 0.01)


def test_sync_times_reads_queued_and_done_for_ipv4() -> None:
    _, times = sync_times(Recorded((LAB / "kube-proxy-metrics-iptables.txt").read_text()))  # type: ignore[arg-type]
    assert times == {"queued": 1.795512305450012e09, "done": 1.795512306498105e09}


def test_synced_after_needs_a_sync_queued_after_the_mark_and_run() -> None:
    times = {"queued": 100.0, "done": 101.0}
    assert synced_after(times, 99.0)
    assert not synced_after(times, 100.5)  # the last queued sync came before the change
    assert not synced_after({"queued": 100.0, "done": 99.5}, 99.0)  # queued, not run yet
    assert not synced_after({}, 0.0)  # nothing read: never taken as synced


def test_unreadable_metrics_give_no_times() -> None:
    _, times = sync_times(Recorded("", rc=1))  # type: ignore[arg-type]
    assert times == {}
