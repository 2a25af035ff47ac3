"""What a cluster runs, read from the cluster (never from svclab's pins): each component's
image, each node's kubelet and container runtime, the feature gates the API server reports in
force, and the deprecation warnings the cluster itself gives (kube-proxy's IPVSDeprecation
event). Read-only; a reader that cannot get one of them records why instead."""

from __future__ import annotations

import json
import re
from typing import Any

from svclab.core.kubectl import Kubectl
from svclab.core.result import CommandError
from svclab.core.shell import Shell
from svclab.observe.kubeproxy import metrics
from svclab.observe.metrics import body

# kube-system pods by the label their component carries (kubeadm's static pods: component=...,
# DaemonSets and Deployments: k8s-app=...)
COMPONENT_LABELS = {"kube-apiserver": "component", "kube-controller-manager": "component",
                    "kube-scheduler": "component", "etcd": "component", "kube-proxy": "k8s-app",
                    "kube-dns": "k8s-app"}
# one line of the API server's /metrics, e.g. kubernetes_feature_enabled{name="KubeProxyIPVS",stage="DEPRECATED"} 1
GATE_LINE = re.compile(r'^kubernetes_feature_enabled\{name="([^"]+)",stage="([^"]*)"\} ([01])$')
DEPRECATION_REASONS = ("IPVSDeprecation",)


def component_images(kubectl: Kubectl) -> dict[str, list[str]]:
    """Each control-plane and kube-system component: the images its pods run (one per version)."""
    out: dict[str, list[str]] = {}
    for name, key in COMPONENT_LABELS.items():
        try:
            pods = kubectl.get("pods", "-l", f"{key}={name}", namespace="kube-system")["items"]
        except CommandError:
            continue
        images = sorted({c["image"] for p in pods for c in p["spec"].get("containers", [])})
        if images:
            out[name] = images
    return out


def node_versions(kubectl: Kubectl) -> dict[str, dict[str, str]]:
    """Each node's kubelet, container runtime, kernel and OS, as the node reports them."""
    nodes = kubectl.get("nodes")["items"]
    return {n["metadata"]["name"]: {
        "kubelet": n["status"]["nodeInfo"].get("kubeletVersion", ""),
        "container_runtime": n["status"]["nodeInfo"].get("containerRuntimeVersion", ""),
        "kernel": n["status"]["nodeInfo"].get("kernelVersion", ""),
        "os": n["status"]["nodeInfo"].get("osImage", "")} for n in nodes}


def parse_feature_gates(metrics: str) -> dict[str, dict[str, Any]]:
    """kubernetes_feature_enabled lines -> {gate: {"enabled": bool, "stage": "BETA"|...|"GA"}}."""
    gates: dict[str, dict[str, Any]] = {}
    for line in metrics.splitlines():
        found = GATE_LINE.match(line.strip())
        if found:
            gates[found.group(1)] = {"enabled": found.group(3) == "1", "stage": found.group(2) or "GA"}
    return gates


def feature_gates(kubectl: Kubectl) -> dict[str, dict[str, Any]]:
    """The gates the API server reports in force (its /metrics); {} when it gives no metrics."""
    found = kubectl.run("get", "--raw", "/metrics")
    return parse_feature_gates(found.stdout) if found.ok else {}


def kube_proxy_gates(shells: dict[str, Shell]) -> dict[str, dict[str, dict[str, Any]]]:
    """The gates each node's kube-proxy reports in force (its own /metrics on the node)."""
    return {node: parse_feature_gates(body(metrics(shell).stdout)) for node, shell in shells.items()}


def deprecation_events(kubectl: Kubectl) -> list[str]:
    """Deprecation warnings the cluster records as events, one line each: `node: message`."""
    lines: list[str] = []
    for reason in DEPRECATION_REASONS:
        found = kubectl.run("get", "events", "-A", "--field-selector", f"reason={reason}", "-o", "json")
        if not found.ok:
            continue
        for event in json.loads(found.stdout).get("items", []):
            where = event.get("involvedObject", {}).get("name", "?")
            lines.append(f"{where}: {reason}: {event.get('message', '')}")
    return sorted(set(lines))


def gates_summary(gates: dict[str, dict[str, Any]]) -> str:
    """One line for the report: the deprecated gates and the alpha ones that are on, named; the
    beta ones on, counted (the evidence lists every gate)."""
    if not gates:
        return "not known (the API server gave no /metrics)"

    def named(stage: str) -> list[str]:
        return sorted(g for g, v in gates.items() if v["stage"] == stage and v["enabled"])

    deprecated = [g for g, v in gates.items() if v["stage"] == "DEPRECATED"]
    on = sorted(g for g in deprecated if gates[g]["enabled"])
    return (f"deprecated and on: {', '.join(on) or 'none'} ({len(deprecated) - len(on)} deprecated, off); "
            f"alpha on: {', '.join(named('ALPHA')) or 'none'}; "
            f"beta on: {len(named('BETA'))} of {sum(v['stage'] == 'BETA' for v in gates.values())}")
