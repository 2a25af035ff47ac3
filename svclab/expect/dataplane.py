"""Expectations on what the nodes' data planes hold (read by svclab.observe.dataplane)."""

from __future__ import annotations

from svclab.core.result import CommandResult
from svclab.expect.verdict import Verdict
from svclab.observe.dataplane import Entries
from svclab.observe.parsers import find_virtual, parse_ipvsadm


def entries_present(found: Entries, want: bool = True) -> Verdict:
    """The node's data plane holds (want=True) or no longer holds entries for found.what."""
    verb = "holds" if want else "holds no entry for"
    if found.error:
        return Verdict(f"{found.mode} data plane on {found.node} {verb} {found.what}", False,
                       f"a readable {found.mode} dump", found.error, (found.raw,))
    shown = "; ".join(found.lines[:6]) or "no entry"
    return Verdict(f"{found.mode} data plane on {found.node} {verb} {found.what}", found.present == want,
                   f"{'an' if want else 'no'} {found.mode} entry for {found.what}", shown, (found.raw,),
                   data={"node": found.node, "mode": found.mode, "entries": list(found.lines)})


def ipvs_virtual_server(dumps: dict[str, CommandResult], address: str, port: int, scheduler: str,
                        real_servers: list[str] | None = None) -> Verdict:
    """`ipvsadm -Ln` on every node asked lists address:port with the scheduler (and, when given,
    exactly these real servers). No dump at all is a failure, not a vacuous pass."""
    seen: dict[str, tuple[str, list[str]] | None] = {}
    for node, dump in dumps.items():
        vs = find_virtual(parse_ipvsadm(dump.stdout), address, port) if dump.ok else None
        seen[node] = (vs.scheduler, sorted(r.address for r in vs.real_servers)) if vs else None
    want = sorted(real_servers) if real_servers is not None else None
    ok = bool(dumps) and all(v is not None and v[0] == scheduler and (want is None or v[1] == want)
                             for v in seen.values())
    if want is not None and not want:
        ok = False  # "exactly no real servers" is not what a Service with endpoints shows
    return Verdict(f"IPVS virtual server {address}:{port}", ok,
                   f"on each of {sorted(dumps) or 'no node (none was asked)'}, scheduler {scheduler}"
                   + (f", real servers {want}" if want is not None else ""),
                   "; ".join(f"{n}: {v}" for n, v in seen.items()) or "no node was read", tuple(dumps.values()),
                   data={"nodes": {n: list(v[1]) if v else None for n, v in seen.items()}})
