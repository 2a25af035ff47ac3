"""One reader per kube-proxy mode: what a node's data plane holds for an address and port.

Readers run one dump command on the node and return what they found with the raw output;
they never assert. IPVS: `ipvsadm -Ln` virtual servers. iptables: the nat table's
KUBE-SERVICES / KUBE-NODEPORTS rules. nftables: the elements of kube-proxy's verdict maps
(`service-ips`, `service-nodeports`), the exact entries its rules jump through.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from svclab.parsers import find_virtual, parse_ipvsadm
from svclab.result import CommandResult

NFT_TABLE = ("ip", "kube-proxy")


class Shell(Protocol):
    def node_run(self, node: str, argv: Sequence[str], *, timeout: float = 60.0) -> CommandResult: ...


@dataclass(frozen=True)
class Entries:
    node: str
    mode: str
    what: str  # e.g. "ClusterIP 10.96.3.4:80/tcp"
    lines: tuple[str, ...]  # the entries found, as the tool printed them
    raw: CommandResult
    error: str = ""  # the dump could not be read (the node shell failed, the table is missing)

    @property
    def present(self) -> bool:
        return not self.error and bool(self.lines)


def dump_argv(mode: str, map_name: str = "") -> list[str]:
    if mode == "ipvs":
        return ["ipvsadm", "-Ln"]
    if mode == "nftables":
        return ["nft", "list", "map", *NFT_TABLE, map_name]
    return ["iptables-save", "-t", "nat"]


def nft_elements(text: str) -> list[str]:
    """The elements of one `nft list map` output, one string each ("10.96.0.1 . tcp . 443 : goto ...")."""
    found = re.search(r"elements\s*=\s*\{(.*?)\}", text, re.S)
    if not found:
        return []
    return [" ".join(e.split()) for e in found[1].split(",") if e.strip()]


def _read(shell: Shell, node: str, mode: str, what: str, map_name: str) -> tuple[CommandResult, str]:
    raw = shell.node_run(node, dump_argv(mode, map_name))
    error = "" if raw.ok else f"{' '.join(raw.argv[-4:])} failed on {node} (exit {raw.rc})"
    return raw, error


def _virtual_server(raw: CommandResult, address: str, port: int, protocol: str) -> list[str]:
    vs = find_virtual(parse_ipvsadm(raw.stdout), address, port, protocol.upper())
    if vs is None:
        return []
    sticky = f" persistent {vs.persistent}" if vs.persistent else ""
    head = f"{vs.protocol} {vs.address}:{vs.port} {vs.scheduler}{sticky}"
    return [head, *(f"-> {r.address}:{r.port} {r.forward} {r.weight}" for r in vs.real_servers)]


def service_entries(shell: Shell, node: str, mode: str, address: str, port: int, protocol: str = "tcp") -> Entries:
    """Entries for a Service address (ClusterIP, external IP, LoadBalancer IP) on `node`."""
    what = f"{address}:{port}/{protocol}"
    raw, error = _read(shell, node, mode, what, "service-ips")
    lines: list[str] = []
    if not error and mode == "ipvs":
        lines = _virtual_server(raw, address, port, protocol)
    elif not error and mode == "nftables":
        lines = [e for e in nft_elements(raw.stdout) if e.startswith(f"{address} . {protocol} . {port} :")]
    elif not error:
        lines = [ln for ln in raw.stdout.splitlines() if ln.startswith("-A KUBE-SERVICES ")
                 and f"-d {address}/32 " in ln and f"-p {protocol} " in ln and f"--dport {port} " in ln]
    return Entries(node, mode, what, tuple(lines), raw, error)


def nodeport_entries(shell: Shell, node: str, mode: str, node_address: str, port: int,
                     protocol: str = "tcp") -> Entries:
    """Entries that catch `port` on the node's addresses (IPVS: a virtual server on node_address)."""
    what = f"node port {port}/{protocol}"
    raw, error = _read(shell, node, mode, what, "service-nodeports")
    lines: list[str] = []
    if not error and mode == "ipvs":
        lines = _virtual_server(raw, node_address, port, protocol)
    elif not error and mode == "nftables":
        lines = [e for e in nft_elements(raw.stdout) if e.startswith(f"{protocol} . {port} :")]
    elif not error:
        lines = [ln for ln in raw.stdout.splitlines() if ln.startswith("-A KUBE-NODEPORTS ")
                 and f"-p {protocol} " in ln and f"--dport {port} " in ln]
    return Entries(node, mode, what, tuple(lines), raw, error)
