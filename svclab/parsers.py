"""Parse what lab commands print: ``ipvsadm -Ln``, ``dig``, ``netstat``/``ss`` and kubectl tables.

Every parser is a pure function: text in, frozen dataclasses out. Parsers never run commands
and never assert; they raise ``ValueError`` (one sentence quoting the offending line) only
when the text is not of the expected shape at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace


def _bad(what: str, line: str) -> ValueError:
    return ValueError(f"Not {what}: {line.strip()!r}")


def _int(value: str, what: str, line: str) -> int:
    if not (value.isascii() and value.isdigit()):
        raise _bad(what, line)
    return int(value)


def _split_hostport(value: str, what: str, line: str) -> tuple[str, int]:
    """Split ``addr:port``, ``[v6addr]:port`` or netstat's ``:::port`` into (address, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise _bad(what, line)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, _int(port, what, line)


# ipvsadm -Ln
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
        raise _bad(_IPVS_WHAT, line)
    protocol = fields[0]
    if protocol == "FWM":
        address, port = str(_int(fields[1], _IPVS_WHAT, line)), 0
        rest = fields[3:] if fields[2] == "IPv6" else fields[2:]
    elif protocol in ("TCP", "UDP", "SCTP"):
        address, port = _split_hostport(fields[1], _IPVS_WHAT, line)
        rest = fields[2:]
    else:
        raise _bad(_IPVS_WHAT, line)
    if not rest or not rest[0].isalpha():
        raise _bad(_IPVS_WHAT, line)
    persistent = None
    if "persistent" in rest:
        index = rest.index("persistent") + 1
        persistent = _int(rest[index] if index < len(rest) else "", _IPVS_WHAT, line)
    return VirtualService(protocol, address, port, rest[0], persistent, ())


def _real_server(line: str) -> RealServer:
    fields = line.split()
    if len(fields) != 6 or not fields[2].isalpha():
        raise _bad("an ipvsadm -Ln real server line", line)
    address, port = _split_hostport(fields[1], _IPVS_WHAT, line)
    weight, active, inactive = (_int(f, _IPVS_WHAT, line) for f in fields[3:])
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


# dig
@dataclass(frozen=True)
class DnsRecord:
    """One resource record of the ANSWER section; ``data`` is the rest of the line."""

    name: str
    ttl: int
    rclass: str
    rtype: str
    data: str


@dataclass(frozen=True)
class DigResult:
    """Status, header flags and answers of one dig query; server and time when dig printed them."""

    status: str
    flags: frozenset[str]
    answers: tuple[DnsRecord, ...]
    server: str | None
    query_time_ms: int | None

    def addresses(self) -> frozenset[str]:
        """The data of every A and AAAA answer."""
        return frozenset(r.data for r in self.answers if r.rtype in ("A", "AAAA"))

    def cnames(self) -> tuple[str, ...]:
        """The targets of the CNAME answers, in answer order (which follows the chain)."""
        return tuple(r.data for r in self.answers if r.rtype == "CNAME")


_DIG_HEADER = re.compile(r"->>HEADER<<-\s+opcode:\s*[^,]+,\s*status:\s*([A-Z]+)")
_DIG_FLAGS = re.compile(r";;\s*flags:([^;]*);")
_DIG_SERVER = re.compile(r";;\s*SERVER:\s*([^#\s]+)#")
_DIG_TIME = re.compile(r";;\s*Query time:\s*(\d+)\s*msec")


def _dns_record(line: str) -> DnsRecord:
    fields = line.split(None, 4)
    if len(fields) != 5 or not fields[1].isdigit():
        raise _bad("a dig answer record", line)
    name, ttl, rclass, rtype, data = fields
    return DnsRecord(name, int(ttl), rclass, rtype, data.strip())


def parse_dig(text: str) -> DigResult:
    """Parse default ``dig`` output or ``dig +noall +answer +comments``; answers come only
    from the ANSWER section. Output without the ``->>HEADER<<-`` status line is refused."""
    status: str | None = None
    flags: frozenset[str] = frozenset()
    answers: list[DnsRecord] = []
    server: str | None = None
    query_time: int | None = None
    in_answer = False
    for line in text.splitlines():
        stripped = line.strip()
        if header := _DIG_HEADER.search(stripped):
            if status is not None:
                raise ValueError(f"dig output holds more than one reply: {stripped!r}")
            status = header[1]
        elif not stripped:
            in_answer = False
        elif stripped.startswith(";"):
            in_answer = stripped.startswith(";; ANSWER SECTION")
            if found := _DIG_FLAGS.match(stripped):
                flags = frozenset(found[1].split())
            elif found := _DIG_SERVER.match(stripped):
                server = found[1]
            elif found := _DIG_TIME.match(stripped):
                query_time = int(found[1])
        elif in_answer:
            answers.append(_dns_record(stripped))
    if status is None:
        first = next((s for s in text.splitlines() if s.strip()), "")
        raise ValueError(f"dig output has no '->>HEADER<<-' status line (use +comments): {first!r}")
    return DigResult(status, flags, tuple(answers), server, query_time)


# netstat -lntp / ss -lntp
@dataclass(frozen=True)
class Listener:
    """One listening socket: protocol "tcp" or "udp", the local address and port, the program."""

    protocol: str
    address: str
    port: int
    process: str | None

    @property
    def wildcard(self) -> bool:
        """True when the socket listens on every address of its family."""
        return self.address in ("0.0.0.0", "::")


_LISTEN_HEADERS = ("Active Internet connections", "Proto ", "State ", "Netid ")
_LISTEN_WHAT = "a netstat or ss listener line"
_SS_USERS = re.compile(r'users:\(\("([^"]*)"')


def _listen_address(value: str, line: str) -> tuple[str, int]:
    host, port = _split_hostport(value, _LISTEN_WHAT, line)
    host = host.partition("%")[0]
    return ("::" if host in ("*", "::") else host), port


def _listener(line: str) -> Listener:
    fields = line.split()
    # netstat: Proto Recv-Q Send-Q Local Foreign [State] PID/Program; ss: [Netid] State Recv-Q ...
    if len(fields) >= 5 and fields[0].islower() and fields[1].isdigit():
        address, port = _listen_address(fields[3], line)
        rest = [f for f in fields[5:] if not (f.isalpha() and f.isupper())]  # drop the State
        program = rest[0].partition("/")[2].rstrip(":") if rest else ""
        return Listener(fields[0].rstrip("6"), address, port, program or None)
    netid = fields.pop(0) if fields and fields[0].islower() else None  # ss -lnp shows Netid
    if len(fields) < 5 or not fields[0].isupper() or not fields[1].isdigit():
        raise _bad(_LISTEN_WHAT, line)
    address, port = _listen_address(fields[3], line)
    protocol = netid or ("udp" if fields[0] == "UNCONN" else "tcp")
    users = _SS_USERS.search(line)
    return Listener(protocol, address, port, users[1] if users else None)


def parse_listeners(text: str) -> tuple[Listener, ...]:
    """Parse ``netstat -lntp``/``-lnup`` or ``ss -lntp``/``-lntpH`` (also grep-ed lines).

    Addresses are normalised: brackets and ``%iface`` zones are dropped, IPv4 "any" stays
    "0.0.0.0", and every IPv6/dual-stack "any" form (netstat ``:::port``, ss ``[::]`` and
    ``*``) becomes "::". Netstat's ``tcp6``/``udp6`` become "tcp"/"udp": the family shows in
    the address. ``process`` is the program name, or None when the tool could not see it.
    """
    found: list[Listener] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(_LISTEN_HEADERS):
            found.append(_listener(stripped))
    return tuple(found)


# kubectl get (table output)
@dataclass(frozen=True)
class PortSpec:
    """One entry of a Service's ``PORT(S)`` cell: ``80:31682/TCP`` or ``443/TCP``."""

    port: int
    node_port: int | None
    protocol: str


_COLUMN = re.compile(r"\S+(?: \S+)*")  # words one space apart form one column name
_PORT = re.compile(r"(\d+)(?::(\d+))?/([A-Z]+)")


def _table_header(line: str) -> tuple[list[str], list[int] | None]:
    matches = list(_COLUMN.finditer(line))
    names = [m[0] for m in matches]
    starts: list[int] | None = [m.start() for m in matches]
    if len(names) == 1 and " " in names[0]:  # spacing collapsed (copied text): one word a column
        names, starts = names[0].split(), None
    if not names or any(n != n.upper() or not re.search("[A-Z]", n) for n in names):
        raise ValueError(f"Not a kubectl table header (upper-case column names): {line.strip()!r}")
    return names, starts


def _table_row(names: list[str], starts: list[int] | None, line: str) -> dict[str, str]:
    if starts is not None and all(s >= len(line) or line[s - 1] == " " for s in starts[1:]):
        ends: list[int | None] = [*starts[1:], None]
        return {n: line[a:b].strip() for n, a, b in zip(names, starts, ends, strict=True)}
    values = line.split()
    if len(values) != len(names):
        raise ValueError(f"kubectl table row does not line up with its header: {line.strip()!r}")
    return dict(zip(names, values, strict=True))


def parse_table(text: str) -> tuple[dict[str, str], ...]:
    """Parse ``kubectl get`` table output into one {column: cell} dict a row.

    Cells are cut at the header's column offsets, so names like ``PORT(S)`` and
    ``NOMINATED NODE`` work. Tables separated by a blank line (``kubectl get pods,svc``) are
    each read with their own header. Text whose spacing was collapsed to single spaces is
    split on whitespace when the cell count matches the header. Empty text and kubectl's
    "No resources found" give no rows.
    """
    rows: list[dict[str, str]] = []
    header: tuple[list[str], list[int] | None] | None = None
    for line in text.splitlines():
        if not line.strip():
            header = None
        elif header is None:
            if not line.startswith("No resources found"):
                header = _table_header(line)
        else:
            rows.append(_table_row(*header, line))
    return tuple(rows)


def parse_ports(value: str) -> tuple[PortSpec, ...]:
    """Parse a ``PORT(S)`` cell such as ``80:31682/TCP,443/TCP``; ``<none>`` gives ()."""
    value = value.strip()
    if value in ("", "<none>"):
        return ()
    specs = []
    for item in value.split(","):
        match = _PORT.fullmatch(item.strip())
        if match is None:
            raise ValueError(f"Not a kubectl PORT(S) cell: {value!r}")
        node_port = int(match[2]) if match[2] else None
        specs.append(PortSpec(int(match[1]), node_port, match[3]))
    return tuple(specs)
