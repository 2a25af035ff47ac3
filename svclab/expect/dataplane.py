"""Expectations on what the nodes' data planes hold (read by svclab.observe.dataplane)."""

from __future__ import annotations

from svclab.core.result import CommandResult
from svclab.expect.traffic import batch_data
from svclab.expect.verdict import Verdict
from svclab.observe.dataplane import Entries
from svclab.observe.parsers import find_virtual, parse_ipvsadm
from svclab.observe.probes import Batch


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


def reaches_or_quiesced(batch: Batch, pods: dict[str, str], table: CommandResult, address: str, port: int,
                        name: str) -> Verdict:
    """IPVS under KEP-1669's fallback to terminating endpoints: every request answered 200 by one
    of `pods` (name -> IP), and each pod either answered or sits at weight 0 in `ipvsadm -Ln` for
    address:port: quiesced, not lost. kube-proxy's IPVS graceful termination puts a real server
    at weight 0 while its connections last; on the 1.35 IPVS lab one of two terminating endpoints
    the fallback should use stayed there (why it was not set back is not established here;
    weight-0 reports upstream: kubernetes#92019, #108319, #99162). The finding says which happened."""
    counts = dict(batch.counts())
    vs = find_virtual(parse_ipvsadm(table.stdout), address, port) if table.ok else None
    weights = {r.address: r.weight for r in vs.real_servers} if vs else {}
    quiet = sorted(n for n, ip in pods.items() if n not in counts and weights.get(ip) == 0)
    missing = sorted(n for n in pods if n not in counts and n not in quiet)
    strangers = sorted(n for n in counts if n not in pods)
    ok = bool(counts) and batch.short() is None and not batch.failed() and not missing and not strangers
    observed = ", ".join(f"{n}={counts.get(n, 0)}" for n in sorted(pods))
    observed += "".join(f"; {n} at IPVS weight 0 (quiesced by kube-proxy)" for n in quiet)
    observed += f"; not answering and not quiesced: {missing}" if missing else ""
    observed += f"; answered by others: {strangers}" if strangers else ""
    observed += f"; failures: {batch.failures()}" if batch.failed() else ""
    return Verdict(name, ok, f"all {batch.requested} requests answered 200 by {sorted(pods)}, each pod answering "
                   "or at IPVS weight 0", observed, (batch.command, table),
                   data=batch_data(batch, counts, sorted(pods), weights=weights,
                                   finding="quiesced" if quiet else "all answer"))
