"""Helpers the parsers share: one-sentence errors, integers and host:port pairs."""

from __future__ import annotations


def bad(what: str, line: str) -> ValueError:
    return ValueError(f"Not {what}: {line.strip()!r}")


def integer(value: str, what: str, line: str) -> int:
    if not (value.isascii() and value.isdigit()):
        raise bad(what, line)
    return int(value)


def split_hostport(value: str, what: str, line: str) -> tuple[str, int]:
    """Split ``addr:port``, ``[v6addr]:port`` or netstat's ``:::port`` into (address, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise bad(what, line)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, integer(port, what, line)

