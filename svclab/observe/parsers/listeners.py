"""``netstat -lntp`` / ``ss -lntp``: the listening sockets."""

from __future__ import annotations

import re
from dataclasses import dataclass

from svclab.observe.parsers._common import bad, split_hostport


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
    host, port = split_hostport(value, _LISTEN_WHAT, line)
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
        raise bad(_LISTEN_WHAT, line)
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
