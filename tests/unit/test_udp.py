"""UDP probes and flow verdicts: the perl probe run for real against a UDP server on loopback,
and the verdicts on outputs recorded from the nftables lab (tests/recorded/lab)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from recorded_shell import RecordedShell

from svclab.core.result import CommandResult, run
from svclab.core.shell import LocalShell
from svclab.expect import flow_moved, flow_pinned, reaches_all, unanswered
from svclab.observe.conntrack import parse_entries, unreplied_entries
from svclab.observe.probes import Batch, parse_batch
from svclab.observe.udp import udp_batch, udp_batch_argv, udp_flow

LAB = Path(__file__).parent.parent / "recorded" / "lab"
SERVICE = "10.107.35.41"
PODS = ["multi-5db9f5cf58-7czm2", "multi-5db9f5cf58-khpcx", "multi-5db9f5cf58-kp7ts"]


def recorded(name: str, rc: int = 0, requested: int = 40) -> Batch:
    result = CommandResult("pod/rec/probe", ("perl",), rc, (LAB / name).read_text(encoding="utf-8"), "", 5.0)
    return parse_batch(f"udp://{SERVICE}:80", result, requested)


@pytest.fixture
def server() -> Iterator[tuple[int, list[int]]]:
    """A UDP server on loopback that answers like myapp: a name ("pod0".."pod2", in turn), or the
    peer for "clientip"; it returns the source ports it saw."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    ports: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        n = 0
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(512)
            except TimeoutError:
                continue
            ports.append(peer[1])
            n += 1
            reply = f"{peer[0]}:{peer[1]}" if data.strip() == b"clientip" else f"pod{n % 3}"
            sock.sendto(reply.encode() + b"\n", peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1], ports
    stop.set()
    thread.join()
    sock.close()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


needs_perl = pytest.mark.skipif(not run(["perl", "-e", "use IO::Socket::INET; 1"]).ok, reason="no perl here")


@needs_perl
def test_a_batch_sends_each_datagram_from_a_new_port_and_reads_each_answer(server: tuple[int, list[int]]) -> None:
    port, seen = server
    batch = udp_batch(LocalShell(), "127.0.0.1", port, 6)
    assert batch.short() is None and len(batch.ok()) == 6
    assert sorted(batch.counts()) == ["pod0", "pod1", "pod2"]
    assert len(set(seen)) == 6  # six sockets, six source ports: the proxy chooses six times


@needs_perl
def test_a_batch_reports_a_closed_port_as_refused_at_once() -> None:
    batch = udp_batch(LocalShell(), "127.0.0.1", free_udp_port(), 3)
    assert [a.exitcode for a in batch.answers] == [7, 7, 7]
    assert unanswered(batch).ok


@needs_perl
def test_a_flow_keeps_one_port_and_ends_once_another_pod_answered(server: tuple[int, list[int]]) -> None:
    port, seen = server
    flow = udp_flow(LocalShell(), "127.0.0.1", port, 20, moved=3, sport=free_udp_port())
    assert len(set(seen)) == 1
    # pod1, pod2, pod0, pod1, pod2: the third answer from a pod other than pod1 ends it
    assert [a.body for a in flow.answers] == ["pod1", "pod2", "pod0", "pod1", "pod2"]
    assert flow.answers[-1].at >= 4 * 0.5


def test_argv_refuses_an_unbounded_batch() -> None:
    with pytest.raises(ValueError):
        udp_batch_argv("10.96.0.10", 53, 0)


def test_recorded_udp_batch_reaches_every_pod() -> None:
    assert reaches_all(recorded("udp-batch-clusterip.txt", requested=30), PODS).ok


def test_recorded_flow_moved_two_seconds_after_its_pod_was_deleted() -> None:
    moved = flow_moved(recorded("udp-flow-moved-nftables.txt"), 5, 20.0, "multi-5db9f5cf58-khpcx")
    assert moved.ok, moved.report()
    assert moved.data["first"] == "multi-5db9f5cf58-khpcx" and moved.data["moved_to"] == "multi-5db9f5cf58-kp7ts"
    assert moved.data["gap"] == pytest.approx(2.01)
    assert "timed out x1" in moved.observed
    assert not flow_moved(recorded("udp-flow-moved-nftables.txt"), 5, 1.0, "multi-5db9f5cf58-khpcx").ok
    assert not flow_moved(recorded("udp-flow-moved-nftables.txt"), 6, 20.0, "multi-5db9f5cf58-khpcx").ok
    # a flow first answered by a pod other than the one deleted proves nothing of the deletion
    assert not flow_moved(recorded("udp-flow-moved-nftables.txt"), 5, 20.0, "multi-5db9f5cf58-kp7ts").ok


def test_recorded_flow_with_kube_proxy_frozen_never_moves() -> None:
    stuck = flow_moved(recorded("udp-flow-frozen-kube-proxy.txt"), 5, 20.0, "multi-5db9f5cf58-gqm95")
    assert not stuck.ok and stuck.data["moved_to"] is None
    assert "timed out x38" in stuck.observed


def test_a_cut_flow_is_not_a_verdict_that_holds() -> None:
    cut = flow_moved(recorded("udp-flow-moved-nftables.txt", rc=124), 5, 20.0, "multi-5db9f5cf58-khpcx")
    assert not cut.ok and "exit code 124" in cut.observed


def test_recorded_conntrack_entry_names_the_backend_before_and_after() -> None:
    before = parse_entries((LAB / "conntrack-udp-flow-before.txt").read_text(encoding="utf-8"))
    after = parse_entries((LAB / "conntrack-udp-flow-after.txt").read_text(encoding="utf-8"))
    assert [(e.source, e.destination, e.backend) for e in before] == [("10.244.2.7", SERVICE, "10.244.2.8")]
    assert [e.backend for e in after] == ["10.244.1.5"]
    read = CommandResult("node/svclab-worker", ("conntrack",), 0, "", "", 0.1)
    assert flow_pinned(read, before).data["backend"] == "10.244.2.8"
    assert not flow_pinned(read, []).ok
    assert not flow_pinned(read, before + after).ok


def test_recorded_unreplied_entries_name_where_a_timed_out_connection_went() -> None:
    """Recorded on the iptables lab: three TCP connects from a node to kube-dns's ClusterIP, two
    while the CoreDNS pods' node dropped them; only those two are unreplied, with their backend."""
    read, entries = unreplied_entries(RecordedShell((LAB / "conntrack-tcp-unreplied.txt").read_text(encoding="utf-8")),
                                      "10.96.0.10")
    assert read.argv == ("conntrack", "-L", "--orig-dst", "10.96.0.10")
    assert [(e.source, e.backend) for e in entries] == [("172.29.0.3", "10.244.0.2")] * 2
