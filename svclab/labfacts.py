"""The lab facts a report shows, as (label, text) pairs, from the evidence's `lab` record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from svclab.observe.components import gates_summary


def components_text(found: dict[str, list[str]]) -> str:
    """`kube-apiserver v1.37.2`, or the image where it is named otherwise (`kube-dns coredns:v1.14.7`)."""
    def shown(component: str, image: str) -> str:
        name, _, tag = image.rsplit("/", 1)[-1].partition(":")
        return tag if name == component else f"{name}:{tag}"

    return ", ".join(f"{c} {' + '.join(shown(c, i) for i in images)}" for c, images in found.items()) or (
        "not known (no kube-system pods listed)")


def node_versions_text(found: dict[str, dict[str, str]]) -> str:
    """One entry per distinct kubelet/runtime pair, with the nodes that run it."""
    pairs: dict[str, list[str]] = {}
    for node, v in sorted(found.items()):
        pairs.setdefault(f"kubelet {v.get('kubelet', '?')}, {v.get('container_runtime', '?')}", []).append(node)
    return "; ".join(f"{pair} ({', '.join(nodes)})" for pair, nodes in pairs.items()) or "?"


def node_gates_text(found: dict[str, dict[str, dict[str, Any]]]) -> str:
    """One entry per distinct summary, with the nodes whose kube-proxy reports it."""
    same: dict[str, list[str]] = {}
    for node, gates in sorted(found.items()):
        same.setdefault(gates_summary(gates), []).append(node)
    return "; ".join(f"{text} ({', '.join(nodes)})" for text, nodes in same.items()) or "not read (no node shell)"


MODE_NAMES = {"ipvs": "IPVS"}  # as the seeds and the docs write it

FACT_TEXT: dict[str, Callable[[Any], str]] = {
    "components": components_text, "node_versions": node_versions_text, "feature_gates": gates_summary,
    "kube_proxy_feature_gates": node_gates_text,
    "deprecations": lambda lines: "; ".join(lines) or "none given by the cluster"}


def nodes_in_mode(observed: dict[str, str], requested: str = "") -> list[str]:
    """"IPVS on 3 of 3 nodes"; a lab that mixes modes names the nodes of each, the requested
    mode first."""
    by_mode: dict[str, list[str]] = {}
    for node, mode in sorted(observed.items()):
        by_mode.setdefault(mode, []).append(node)
    total = len(observed)
    return [f"{MODE_NAMES.get(mode, mode)} on {len(nodes)} of {total} node{'s' if total > 1 else ''}"
            + (f" ({', '.join(nodes)})" if len(nodes) < total else "")
            for mode, nodes in sorted(by_mode.items(), key=lambda kv: (kv[0] != requested, -len(kv[1]), kv[0]))]


def proxy_text(lab: dict[str, Any]) -> str:
    observed: dict[str, str] = lab.get("proxy_mode_observed") or {}
    seen = "; ".join(nodes_in_mode(observed, lab.get("proxy_mode_requested") or "")) or "unknown"
    text = (f"requested {lab.get('proxy_mode_requested') or '?'}, configured "
            f"{lab.get('proxy_mode_configured') or '?'}, in force {seen}")
    support: dict[str, str] = lab.get("proxy_mode_support") or {}
    if support:
        text += (f"; requests to Service addresses go through {', '.join(lab.get('dataplane_nodes') or ['?'])}, "
                 f"the other nodes run {', '.join(sorted(set(support.values())))} on purpose (their kernel cannot "
                 f"run {lab.get('proxy_mode_requested') or '?'}; node ports are checked on every node, each named "
                 "with its mode)")
    return text


def lab_facts(lab: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs a reader needs to know which lab produced the report."""
    nodes = ", ".join(f"{n.get('name')} {n.get('address')} ({n.get('role')})" for n in lab.get("nodes", []))
    scheduler = lab.get("ipvs_scheduler") or "-"
    if lab.get("proxy_mode_configured") not in ("ipvs", None) and scheduler != "-":
        scheduler += " (unused: kube-proxy is not in ipvs mode)"
    facts = [("Kubernetes", lab.get("kubernetes") or "?"), ("kube-proxy", proxy_text(lab)),
             ("IPVS scheduler", scheduler), ("Kernel (where requests go)", lab.get("kernel") or "?"),
             ("CNI", lab.get("cni") or "?"), ("Nodes", nodes or "?"), ("Node image", lab.get("node_image") or "?")]
    if lab.get("provider") or lab.get("name"):
        facts.append(("Lab", f"{lab.get('provider', '')}:{lab.get('name', '')}"))
    for label, key in (("Components", "components"), ("Kubelet and runtime", "node_versions"),
                       ("Feature gates (API server)", "feature_gates"),
                       ("Feature gates (kube-proxy, data-plane nodes)", "kube_proxy_feature_gates"),
                       ("Deprecation events", "deprecations")):
        if key in lab:
            facts.append((label, FACT_TEXT[key](lab[key])))
    if lab.get("cluster_changes"):
        facts.append(("Cluster-scoped changes", str(lab["cluster_changes"])))
    if lab.get("cluster_state_after"):
        facts.append(("Cluster state after the run", str(lab["cluster_state_after"])))
    return facts


