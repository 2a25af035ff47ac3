"""A node's conntrack table, read with conntrack-tools (in every node image): the entries of
one UDP flow, and which backend each is NATed to. Returns what it read; never asserts."""

from __future__ import annotations

from dataclasses import dataclass

from svclab.core.result import CommandResult
from svclab.core.shell import Shell


@dataclass(frozen=True)
class FlowEntry:
    source: str  # the client, as it sent
    destination: str  # the Service address it sent to
    backend: str  # where the reply comes from: the endpoint the entry is NATed to
    line: str


def parse_entries(text: str) -> list[FlowEntry]:
    """`conntrack -L` lines: the original tuple's src=/dst= come first, the reply tuple's second."""
    found = []
    for line in text.splitlines():
        fields = [f.split("=", 1) for f in line.split() if "=" in f]
        src = [v for k, v in fields if k == "src"]
        dst = [v for k, v in fields if k == "dst"]
        if len(src) >= 2 and dst:
            found.append(FlowEntry(src[0], dst[0], src[1], line.strip()))
    return found


def udp_flow_entries(node: Shell, destination: str, sport: int) -> tuple[CommandResult, list[FlowEntry]]:
    """The node's conntrack entries for UDP from source port `sport` to `destination`."""
    read = node.run(["conntrack", "-L", "-p", "udp", "--orig-dst", destination, "--sport", str(sport)])
    return read, parse_entries(read.stdout)


def unreplied_entries(node: Shell, destination: str) -> tuple[CommandResult, list[FlowEntry]]:
    """The node's conntrack entries to `destination` that never saw a reply: where a connection
    that timed out was NATed to (a SYN_SENT entry lives 120 s, a UDP one 30 s)."""
    read = node.run(["conntrack", "-L", "--orig-dst", destination])
    return read, [e for e in parse_entries(read.stdout) if "[UNREPLIED]" in e.line]
