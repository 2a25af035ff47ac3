"""``dig`` with +comments: status, flags and the ANSWER section."""

from __future__ import annotations

import re
from dataclasses import dataclass

from svclab.observe.parsers._common import bad


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
        raise bad("a dig answer record", line)
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
