"""What a cluster holds outside svclab's own namespaces, to show a run left it as it was.

A snapshot is every cluster-scoped object the API lists, plus kube-system's configuration
(ConfigMaps, DaemonSets, Deployments, Services: what svclab's opt-in checks touch), each reduced
to what a person set: status and the API server's bookkeeping (resourceVersion, managedFields,
generation) are left out, because they move on their own. Everything else counts: an object
deleted and recreated differs by its uid and creationTimestamp.
"""

from __future__ import annotations

import json
from typing import Any

from svclab.core.kubectl import Kubectl

# moved by the API server and controllers on their own, not by anything svclab does
BOOKKEEPING = ("resourceVersion", "managedFields", "generation")
KUBE_SYSTEM_KINDS = "configmaps,daemonsets.apps,deployments.apps,services"
OWN_NAMESPACE_PREFIX = "svclab-"  # the namespaces svclab creates, and deletes, for its tests


def snapshot(kubectl: Kubectl) -> dict[str, Any]:
    """`kind/name` (or `kube-system/kind/name`) -> the object without status and bookkeeping."""
    listed = kubectl.run("api-resources", "--namespaced=false", "--verbs=list", "-o", "name")
    listed.check("kubectl api-resources (the cluster-scoped kinds)")
    kinds = ",".join(sorted(listed.stdout.split()))
    out: dict[str, Any] = {}
    for namespace, names in ((None, kinds), ("kube-system", KUBE_SYSTEM_KINDS)):
        argv = ["get", names, "-o", "json", *(["-n", namespace] if namespace else [])]
        for item in json.loads(kubectl.run(*argv, timeout=120).check(f"kubectl {' '.join(argv)}").stdout)["items"]:
            meta = item.get("metadata", {})
            if item.get("kind") == "Namespace" and meta.get("name", "").startswith(OWN_NAMESPACE_PREFIX):
                continue  # svclab's own: their deletion is checked by waiting for them to go
            key = "/".join([*([namespace] if namespace else []), item.get("kind", "?"), meta.get("name", "?")])
            out[key] = reduced(item)
    return out


def reduced(item: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in item.get("metadata", {}).items() if k not in BOOKKEEPING}
    return {**{k: v for k, v in item.items() if k not in ("status", "metadata")}, "metadata": meta}


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """One line per object added, removed or changed (with the top-level fields that changed)."""
    lines = [f"added: {k}" for k in sorted(after.keys() - before.keys())]
    lines += [f"removed: {k}" for k in sorted(before.keys() - after.keys())]
    for key in sorted(before.keys() & after.keys()):
        if before[key] != after[key]:
            lines.append(f"changed: {key} ({', '.join(_changed_fields(before[key], after[key]))})")
    return lines


def _changed_fields(old: dict[str, Any], new: dict[str, Any], prefix: str = "", depth: int = 2) -> list[str]:
    """Dotted paths of what changed, two levels deep (metadata.annotations, data.Corefile)."""
    out = []
    for field in sorted(old.keys() | new.keys()):
        a, b = old.get(field), new.get(field)
        if a == b:
            continue
        if depth > 1 and isinstance(a, dict) and isinstance(b, dict):
            out += _changed_fields(a, b, f"{prefix}{field}.", depth - 1)
        else:
            out.append(f"{prefix}{field}")
    return out


def own_namespaces(kubectl: Kubectl) -> list[str]:
    """svclab's namespaces still on the cluster (being deleted, or left behind)."""
    found = kubectl.run("get", "namespaces", "-o", "name")
    return [n.split("/")[-1] for n in found.stdout.split() if n.split("/")[-1].startswith(OWN_NAMESPACE_PREFIX)]
