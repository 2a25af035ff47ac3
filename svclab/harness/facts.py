"""The seeds' troubleshooting checklist (seed 003), printed as facts when a check fails:
selector vs pods, ready endpoints, PORT(S) and targetPort, kube-proxy on every node, and
what each node's data plane holds for the Service."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from svclab.observe.conntrack import unreplied_entries
from svclab.observe.dataplane import nodeport_entries, service_entries

if TYPE_CHECKING:
    from svclab.harness.jig import Jig
    from svclab.harness.live import LiveLab


def kube_proxy_pods(lab: LiveLab) -> dict[str, str]:
    """node -> "kube-proxy-x Running, ready, 2 restarts" for every kube-proxy pod (all DaemonSets)."""
    found = lab.kubectl.run("get", "pods", "-n", "kube-system", "-o", "json")
    out: dict[str, str] = {}
    if not found.ok:
        return out
    import json

    for pod in json.loads(found.stdout).get("items", []):
        name = pod["metadata"]["name"]
        if not name.startswith("kube-proxy"):
            continue
        status = pod.get("status", {})
        cs = (status.get("containerStatuses") or [{}])[0]
        state = cs.get("state") or {}
        last = (cs.get("lastState") or {}).get("terminated", {}).get("reason", "")
        waiting = state.get("waiting", {}).get("reason", "") or state.get("terminated", {}).get("reason", "")
        waiting = "; ".join(x for x in (waiting, f"last exit: {last}" if last else "") if x)
        out[pod["spec"].get("nodeName", "?")] = (
            f"{name} {status.get('phase')}{' (' + waiting + ')' if waiting else ''}, "
            f"{'ready' if cs.get('ready') else 'NOT ready'}, {cs.get('restartCount', 0)} restarts")
    return out


def dataplane_lines(lab: LiveLab, svc: dict[str, Any]) -> list[str]:
    """What each node's data plane holds for the Service's ClusterIP and node ports."""
    shells = lab.node_shells()
    if not shells:
        return ["    data plane: not read (this lab gives no node shell)"]
    spec, lines = svc["spec"], []
    for node in lab.nodes:
        mode = lab.mode_on(node.name)
        for port in spec.get("ports", []):
            proto = str(port.get("protocol", "TCP")).lower()
            reads, shell = [], shells[node.name]
            if spec.get("clusterIP") not in (None, "", "None"):
                reads.append(service_entries(shell, node.name, mode, spec["clusterIP"], port["port"], proto))
            if port.get("nodePort"):
                reads.append(nodeport_entries(shell, node.name, mode, node.address, port["nodePort"], proto))
            for got in reads:
                shown = got.error or ("; ".join(got.lines[:4]) if got.lines else "NO ENTRY")
                lines.append(f"    {node.name} ({mode}) {got.what}: {shown}")
    return lines


def unreplied_lines(lab: LiveLab, svc: dict[str, Any]) -> list[str]:
    """Connections to the ClusterIP that no backend answered, per node, with the backend each
    was NATed to: a timeout in a batch points at a stale or dead endpoint here."""
    ip, shells = svc["spec"].get("clusterIP"), lab.node_shells()
    if ip in (None, "", "None") or not shells:
        return []
    lines = []
    for node in lab.nodes:
        read, entries = unreplied_entries(shells[node.name], ip)
        shown = read.stderr.strip() if not read.ok else "; ".join(
            f"{e.source} -> {e.backend}" for e in entries[:6]) or "none"
        lines.append(f"      {node.name}: {shown}{' ...' if len(entries) > 6 else ''}")
    return ["    unanswered connections to the ClusterIP (conntrack UNREPLIED, client -> backend):", *lines]


def service_facts(lab: LiveLab, jig: Jig, name: str) -> Callable[[], str]:
    """What a user checks by hand when a Service does not answer (seed 003)."""

    def facts() -> str:
        found = jig.run("get", "service", name, "-o", "json")
        if not found.ok:
            return f"    Service {name}: {found.stderr.strip() or 'not found'}"
        import json

        svc = json.loads(found.stdout)
        selector = svc["spec"].get("selector") or {}
        pods = jig.pods(selector) if selector else []
        proxies = kube_proxy_pods(lab)
        ports = ",".join(
            f"{p['port']}" + (f":{p['nodePort']}" if p.get("nodePort") else "") + f"/{p['protocol']}"
            for p in svc["spec"].get("ports", [])
        )
        lines = [
            f"    selector: {selector}",
            f"    pods matching it: {[(p.name, p.ip, p.node, 'ready' if p.ready else 'NOT ready') for p in pods]}",
            f"    endpoints (ready): {jig.endpoints(name)}",
            f"    PORT(S): {ports}  targetPort: {[p.get('targetPort') for p in svc['spec'].get('ports', [])]}",
            "    kube-proxy per node:",
            *(f"      {n.name}: {proxies.get(n.name, 'NO kube-proxy pod')}" for n in lab.nodes),
            "    data plane per node:",
            *dataplane_lines(lab, svc),
            *unreplied_lines(lab, svc),
            f"    reproduce: {jig.run('get', 'service,endpointslices,pods', '-o', 'wide').reproduce}",
        ]
        return "\n".join(lines)

    return facts
