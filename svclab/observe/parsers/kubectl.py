"""kubectl's table output and a Service's ``PORT(S)`` cell."""

from __future__ import annotations

import re
from dataclasses import dataclass


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
