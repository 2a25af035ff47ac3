"""kube-proxy's sync times, read from its metrics as recorded on a lab node (tests/recorded/lab)."""

from __future__ import annotations

from pathlib import Path

from recorded_shell import RecordedShell

from svclab.observe.kubeproxy import sync_times, synced_after

LAB = Path(__file__).parent.parent / "recorded" / "lab"


def test_sync_times_reads_queued_and_done_for_ipv4() -> None:
    _, times = sync_times(RecordedShell((LAB / "kube-proxy-metrics-iptables.txt").read_text()))  # type: ignore[arg-type]
    assert times == {"queued": 1.795512305450012e09, "done": 1.795512306498105e09}


def test_synced_after_needs_a_sync_queued_after_the_mark_and_run() -> None:
    times = {"queued": 100.0, "done": 101.0}
    assert synced_after(times, 99.0)
    assert not synced_after(times, 100.5)  # the last queued sync came before the change
    assert not synced_after({"queued": 100.0, "done": 99.5}, 99.0)  # queued, not run yet
    assert not synced_after({}, 0.0)  # nothing read: never taken as synced


def test_unreadable_metrics_give_no_times() -> None:
    _, times = sync_times(RecordedShell("", rc=1))  # type: ignore[arg-type]
    assert times == {}
