"""The seeds' troubleshooting checklist (seed 003), printed as facts when a check fails."""

from __future__ import annotations

from collections.abc import Callable

from svclab.fixtures import LiveLab
from svclab.jig import Jig


def service_facts(lab: LiveLab, jig: Jig, name: str) -> Callable[[], str]:
    """What a user checks by hand when a Service does not answer (seed 003)."""

    def facts() -> str:
        svc = jig.get("service", name)
        selector = svc["spec"].get("selector") or {}
        pods = jig.pods(selector) if selector else []
        proxies = lab.kubectl.run("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-proxy",
                                  "-o", "wide")
        ports = ",".join(
            f"{p['port']}" + (f":{p['nodePort']}" if p.get("nodePort") else "") + f"/{p['protocol']}"
            for p in svc["spec"].get("ports", [])
        )
        lines = [
            f"    selector: {selector}",
            f"    pods matching it: {[(p.name, p.ip, 'ready' if p.ready else 'NOT ready') for p in pods]}",
            f"    endpoints (ready): {jig.endpoints(name)}",
            f"    PORT(S): {ports}  targetPort: {[p.get('targetPort') for p in svc['spec'].get('ports', [])]}",
            "    kube-proxy pods:",
            *(f"      {line}" for line in proxies.stdout.splitlines()),
            f"    reproduce: {jig.run('get', 'service,endpointslices,pods', '-o', 'wide').reproduce}",
        ]
        return "\n".join(lines)

    return facts
