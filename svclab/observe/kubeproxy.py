"""What kube-proxy itself reports on each node, for clusters that give svclab no node shell.

kube-proxy answers its mode on its metrics address (`/proxyMode`, 127.0.0.1:10249 unless the
cluster moved it). A short-lived hostNetwork pod on each node asks it there, so nothing about
how the cluster was installed (kubeadm's ConfigMap) is assumed. The pods live in a namespace
of svclab's own, deleted afterwards.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from svclab.core.errors import SvclabError
from svclab.core.kubectl import Kubectl
from svclab.core.result import CommandResult
from svclab.core.shell import Shell
from svclab.core.wait import wait_for

METRICS = "127.0.0.1:10249"
UNREACHABLE = "unreachable"  # nothing answered on the node's metrics address


def _pod(node: str, image: str) -> dict[str, Any]:
    ask = f"curl -s --max-time 3 http://{METRICS}/proxyMode || echo {UNREACHABLE}"
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"proxymode-{uuid.uuid4().hex[:8]}", "labels": {"svclab.io/node": node}},
            "spec": {"nodeName": node, "hostNetwork": True, "restartPolicy": "Never",
                     "tolerations": [{"operator": "Exists"}],
                     "containers": [{"name": "ask", "image": image, "imagePullPolicy": "IfNotPresent",
                                     "command": ["sh", "-c", ask]}]}}


def reported_modes(kubectl: Kubectl, nodes: list[str], image: str) -> tuple[dict[str, str], CommandResult]:
    """node -> the mode its kube-proxy reports (or "unreachable"), and the listing of the pods."""
    namespace = f"svclab-proxymode-{uuid.uuid4().hex[:5]}"
    kubectl.run("create", "namespace", namespace).check("kubectl create namespace")
    try:
        docs = [_pod(node, image) for node in nodes]
        listing = json.dumps({"kind": "List", "apiVersion": "v1", "items": docs})
        # retried: pods are refused until the controller gives the new namespace its ServiceAccount
        wait_for(lambda: kubectl.run("apply", "-n", namespace, "-f", "-", stdin=listing).ok or None,
                 what="the proxyMode pods accepted", timeout=60, interval=1)

        def finished() -> CommandResult | None:
            listed = kubectl.run("get", "pods", "-n", namespace, "-o", "json")
            phases = [p["status"].get("phase") for p in json.loads(listed.stdout or '{"items": []}')["items"]]
            return listed if len(phases) == len(nodes) and all(p in ("Succeeded", "Failed") for p in phases) else None

        listed = wait_for(finished, what="kube-proxy's /proxyMode read on every node", timeout=180, interval=2)
        out = {}
        for doc in docs:
            log = kubectl.run("logs", "-n", namespace, doc["metadata"]["name"])
            out[doc["metadata"]["labels"]["svclab.io/node"]] = log.stdout.strip() or UNREACHABLE
        return out, listed
    finally:
        kubectl.run("delete", "namespace", namespace, "--wait=false")


def runs_kube_proxy(kubectl: Kubectl) -> bool:
    """A kube-proxy pod or DaemonSet in kube-system (by its usual label or name)."""
    pods = kubectl.run("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-proxy", "-o", "name")
    sets = kubectl.run("get", "daemonsets", "-n", "kube-system", "-o", "name")
    return bool(pods.stdout.strip()) or "kube-proxy" in sets.stdout


def no_kube_proxy(kubectl: Kubectl, reported: dict[str, str]) -> None:
    """Raise, in one sentence, when the cluster runs no kube-proxy at all (a network plugin
    that replaces it): svclab checks kube-proxy's modes, and says so rather than guess."""
    if all(mode == UNREACHABLE for mode in reported.values()) and not runs_kube_proxy(kubectl):
        raise SvclabError("this cluster runs no kube-proxy (no kube-proxy pod or DaemonSet in kube-system, and "
                          f"nothing answers /proxyMode on {METRICS} on its nodes), so there is no kube-proxy mode to "
                          "check; a network plugin that replaces kube-proxy is outside what svclab tests.")


# kube-proxy's account of its syncs, from its metrics on the node itself (a node shell). The node
# image has no curl; bash's /dev/tcp speaks the one HTTP/1.0 GET needed.
QUEUED = "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds"
DONE = "kubeproxy_sync_proxy_rules_last_timestamp_seconds"
_GET = ("exec 3<>/dev/tcp/{host}/{port} && printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3 && "
        "timeout 5 cat <&3").format(host=METRICS.split(":")[0], port=METRICS.split(":")[1])


def node_clock(node: Shell) -> float:
    """The node's own clock (the VM's may differ from this host's): marks compared with its syncs."""
    return float(node.run(["date", "+%s.%N"]).check("date on the node").stdout.strip())


def metrics(node: Shell) -> CommandResult:
    """kube-proxy's /metrics on the node, as the raw HTTP answer (svclab.observe.metrics reads it)."""
    return node.run(["bash", "-c", _GET])


def sync_times(node: Shell) -> tuple[CommandResult, dict[str, float]]:
    """When kube-proxy last queued a sync and last finished one (IPv4), on the node's clock."""
    read = metrics(node)
    found: dict[str, float] = {}
    for line in read.stdout.splitlines():
        for what, name in (("queued", QUEUED), ("done", DONE)):
            if line.startswith(name + '{ip_family="IPv4"}'):
                found[what] = float(line.split()[-1])
    return read, found


def synced_after(times: dict[str, float], mark: float) -> bool:
    """A sync was queued after `mark` (a change made then reached kube-proxy) and has run since."""
    return times.get("queued", 0) > mark and times.get("done", 0) >= times.get("queued", 0)
