"""One reader per kube-proxy mode: what a node's data plane holds for an address and port.

Readers run one dump command on the node and return what they found with the raw output;
they never assert. IPVS: `ipvsadm -Ln` virtual servers. iptables: the nat table's
KUBE-SERVICES / KUBE-NODEPORTS rules. nftables: the elements of kube-proxy's verdict maps
(`service-ips`, `service-nodeports`), the exact entries its rules jump through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol

from svclab.core.result import CommandResult
from svclab.core.shell import Shell
from svclab.observe.parsers import find_virtual, parse_ipvsadm

NFT_TABLE = ("ip", "kube-proxy")


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


def nft_elements(text: str) -> list[str]:
    """The elements of one `nft list map` output, one string each ("10.96.0.1 . tcp . 443 : goto ...")."""
    found = re.search(r"elements\s*=\s*\{(.*?)\}", text, re.S)
    if not found:
        return []
    return [" ".join(e.split()) for e in found[1].split(",") if e.strip()]


@dataclass(frozen=True)
class Target:
    """What to look for: a Service address (ClusterIP, external IP, LB IP) or a node port."""

    kind: Literal["service", "nodeport"]
    address: str  # the Service address, or the node's own address for a node port
    port: int
    protocol: str

    @property
    def what(self) -> str:
        if self.kind == "service":
            return f"{self.address}:{self.port}/{self.protocol}"
        return f"node port {self.port}/{self.protocol}"


class Reader(Protocol):
    """One kube-proxy mode's data plane: the dump command and the entries in it for a target."""

    def argv(self, target: Target) -> list[str]: ...

    def entries(self, dump: str, target: Target) -> list[str]: ...


class IpvsReader:
    """`ipvsadm -Ln`: a virtual server (a node port is one per node address)."""

    def argv(self, target: Target) -> list[str]:
        return ["ipvsadm", "-Ln"]

    def entries(self, dump: str, target: Target) -> list[str]:
        vs = find_virtual(parse_ipvsadm(dump), target.address, target.port, target.protocol.upper())
        if vs is None:
            return []
        sticky = f" persistent {vs.persistent}" if vs.persistent else ""
        head = f"{vs.protocol} {vs.address}:{vs.port} {vs.scheduler}{sticky}"
        return [head, *(f"-> {r.address}:{r.port} {r.forward} {r.weight}" for r in vs.real_servers)]


class IptablesReader:
    """The nat table: KUBE-SERVICES rules for an address, KUBE-NODEPORTS rules for a port."""

    chains: ClassVar[dict[str, str]] = {"service": "KUBE-SERVICES", "nodeport": "KUBE-NODEPORTS"}

    def argv(self, target: Target) -> list[str]:
        return ["iptables-save", "-t", "nat"]

    def entries(self, dump: str, target: Target) -> list[str]:
        wanted = [f"-p {target.protocol} ", f"--dport {target.port} "]
        if target.kind == "service":
            wanted.append(f"-d {target.address}/32 ")
        head = f"-A {self.chains[target.kind]} "
        return [ln for ln in dump.splitlines() if ln.startswith(head) and all(w in ln for w in wanted)]


class NftablesReader:
    """kube-proxy's verdict maps: `service-ips` (address . protocol . port) and `service-nodeports`."""

    maps: ClassVar[dict[str, str]] = {"service": "service-ips", "nodeport": "service-nodeports"}

    def argv(self, target: Target) -> list[str]:
        return ["nft", "list", "map", *NFT_TABLE, self.maps[target.kind]]

    def entries(self, dump: str, target: Target) -> list[str]:
        key = f"{target.protocol} . {target.port} :"
        if target.kind == "service":
            key = f"{target.address} . {key}"
        return [e for e in nft_elements(dump) if e.startswith(key)]


READERS: dict[str, Reader] = {"ipvs": IpvsReader(), "iptables": IptablesReader(), "nftables": NftablesReader()}


def read_entries(shell: Shell, node: str, mode: str, target: Target) -> Entries:
    """Run the mode's dump on `node` and return the entries for `target` with the raw output."""
    reader = READERS[mode]
    raw = shell.run(reader.argv(target))
    if not raw.ok:
        error = f"{' '.join(raw.argv[-4:])} failed on {node} (exit {raw.rc})"
        return Entries(node, mode, target.what, (), raw, error)
    return Entries(node, mode, target.what, tuple(reader.entries(raw.stdout, target)), raw)


def service_entries(shell: Shell, node: str, mode: str, address: str, port: int, protocol: str = "tcp") -> Entries:
    """Entries for a Service address (ClusterIP, external IP, LoadBalancer IP) on `node`."""
    return read_entries(shell, node, mode, Target("service", address, port, protocol))


def nodeport_entries(shell: Shell, node: str, mode: str, node_address: str, port: int,
                     protocol: str = "tcp") -> Entries:
    """Entries that catch `port` on the node's addresses (IPVS: a virtual server on node_address)."""
    return read_entries(shell, node, mode, Target("nodeport", node_address, port, protocol))
