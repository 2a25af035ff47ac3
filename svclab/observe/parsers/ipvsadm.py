"""``ipvsadm -Ln``: the virtual services and their real servers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from svclab.observe.parsers._common import bad, integer, split_hostport


@dataclass(frozen=True)
class RealServer:
    """One ``-> address:port Forward Weight ActiveConn InActConn`` line."""

    address: str
    port: int
    forward: str
    weight: int
    active: int
    inactive: int


@dataclass(frozen=True)
class VirtualService:
    """One virtual server; a firewall-mark one has protocol "FWM", the mark as address, port 0."""

    protocol: str
    address: str
    port: int
    scheduler: str
    persistent: int | None
    real_servers: tuple[RealServer, ...]

    def backends(self) -> frozenset[tuple[str, int]]:
        """The (address, port) pairs of the real servers."""
        return frozenset((r.address, r.port) for r in self.real_servers)


_IPVS_HEADERS = ("IP Virtual Server version", "Prot LocalAddress:Port", "-> RemoteAddress:Port")
_IPVS_WHAT = "an ipvsadm -Ln line"


def _virtual_service(line: str) -> VirtualService:
    fields = line.split()
    if len(fields) < 3:
        raise bad(_IPVS_WHAT, line)
    protocol = fields[0]
    if protocol == "FWM":
        address, port = str(integer(fields[1], _IPVS_WHAT, line)), 0
        rest = fields[3:] if fields[2] == "IPv6" else fields[2:]
    elif protocol in ("TCP", "UDP", "SCTP"):
        address, port = split_hostport(fields[1], _IPVS_WHAT, line)
        rest = fields[2:]
    else:
        raise bad(_IPVS_WHAT, line)
    if not rest or not rest[0].isalpha():
        raise bad(_IPVS_WHAT, line)
    persistent = None
    if "persistent" in rest:
        index = rest.index("persistent") + 1
        persistent = integer(rest[index] if index < len(rest) else "", _IPVS_WHAT, line)
    return VirtualService(protocol, address, port, rest[0], persistent, ())


def _real_server(line: str) -> RealServer:
    fields = line.split()
    if len(fields) != 6 or not fields[2].isalpha():
        raise bad("an ipvsadm -Ln real server line", line)
    address, port = split_hostport(fields[1], _IPVS_WHAT, line)
    weight, active, inactive = (integer(f, _IPVS_WHAT, line) for f in fields[3:])
    return RealServer(address, port, fields[2], weight, active, inactive)


def parse_ipvsadm(text: str) -> tuple[VirtualService, ...]:
    """Parse ``ipvsadm -Ln`` (numeric, no --stats/--rate) into virtual services in printed order."""
    services: list[VirtualService] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(_IPVS_HEADERS):
            continue
        if not stripped.startswith("->"):
            services.append(_virtual_service(line))
        elif services:
            last = services[-1]
            services[-1] = replace(last, real_servers=(*last.real_servers, _real_server(line)))
        else:
            raise ValueError(f"ipvsadm real server before any virtual service: {stripped!r}")
    return tuple(services)


def find_virtual(
    services: Iterable[VirtualService], address: str, port: int, protocol: str = "TCP"
) -> VirtualService | None:
    """The virtual service at address:port/protocol (IPv6 with or without brackets), else None."""
    address = address.strip("[]")
    for service in services:
        if (service.address, service.port, service.protocol) == (address, port, protocol):
            return service
    return None
