"""The running lab as tests and drills use it: its spec, provider, kubectl, nodes and the
kube-proxy mode in force. No pytest here: the fixtures and `svclab drill` both open it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from svclab.core import progress
from svclab.core.catalog import lab_images
from svclab.core.errors import SvclabError
from svclab.core.kubectl import Kubectl
from svclab.core.result import CommandResult
from svclab.core.shell import Shell
from svclab.core.spec import LabSpec
from svclab.core.ssh import SshShell
from svclab.core.wait import wait_for
from svclab.expect.verdict import Verdict, holds
from svclab.labs import Lab, Node, NodeShells, read_only
from svclab.observe import components, kubeproxy
from svclab.observe.proxymode import InForce, configured_mode, in_force, ipvs_scheduler

Client = Shell  # a place requests are sent from (the probe pod, the client outside the cluster)


@dataclass(frozen=True)
class LiveLab:
    """What a test may use of the running lab."""

    spec: LabSpec
    provider: Lab
    kubectl: Kubectl
    nodes: tuple[Node, ...]
    proxy: InForce
    server: dict[str, str]  # the API server's version in force (`kubectl version`), never the pin

    @property
    def server_minor(self) -> int:
        return int("".join(c for c in self.server.get("minor", "0") if c.isdigit()) or 0)

    def node_shells(self) -> dict[str, Shell]:
        """Every node's shell; {} when the provider gives none (an existing cluster)."""
        if not isinstance(self.provider, NodeShells):
            return {}
        return {n.name: self.provider.node_shell(n.name) for n in self.nodes}

    def ssh_shell(self, node: str) -> Shell | None:
        """The node's shell when it is reached over SSH (the IPVS VM, a Vagrant machine): probes
        there are entered through it rather than exec'd through the API (core/shell.py)."""
        shell = self.node_shells().get(node)
        return shell if isinstance(shell, SshShell) else None

    def on(self, node: str) -> Shell:
        """The node's shell; an error when the provider gives none (tests skip before asking)."""
        if not isinstance(self.provider, NodeShells):
            raise SvclabError(f"the {self.spec.provider} provider gives no node shell")
        return self.provider.node_shell(node)

    @property
    def mode(self) -> str:
        return self.proxy.configured

    @property
    def dataplane(self) -> tuple[Node, ...]:
        """The nodes where the requested proxy mode is in force (all of them, unless the lab
        mixes modes: the IPVS lab on a host without ip_vs has one IPVS node, in a VM)."""
        if not self.proxy.observed:  # no node shell: nothing is known per node
            return self.nodes
        names = set(self.proxy.dataplane())  # never empty: the lab fixture checked mismatch()
        return tuple(n for n in self.nodes if n.name in names)

    @property
    def client_node(self) -> str | None:
        """Where client pods run: on a data-plane node when the lab mixes modes, so that
        every request goes through the requested mode; else wherever the scheduler likes."""
        return self.dataplane[0].name if self.proxy.support else None

    def read_proxy(self) -> InForce:
        """The proxy mode in force, read again now: the nodes' rules, or kube-proxy's reports."""
        shells = self.node_shells()
        if shells:
            return in_force(self.spec.proxy_mode, self.kubectl, shells, self.proxy.support)
        return reported(self.spec.proxy_mode, self.kubectl, self.nodes)

    def service_subnets(self) -> list[str]:
        """The spec's Service subnet on svclab's own lab (a check against it also proves the spec
        was applied); on another cluster its ServiceCIDR objects (Kubernetes 1.33+; [] before)."""
        if self.provider.builds_cluster:
            return [self.spec.service_subnet]
        found = self.kubectl.run("get", "servicecidrs", "-o", "jsonpath={.items[*].spec.cidrs[*]}")
        return found.stdout.split() if found.ok else []

    def cluster_dns(self) -> str:
        """The ClusterIP of kube-system's kube-dns Service, read from the cluster (the address
        pods' resolv.conf names; not derived from the spec, which an existing cluster ignores)."""
        found = self.kubectl.run("get", "service", "kube-dns", "-n", "kube-system", "-o", "jsonpath={.spec.clusterIP}")
        return found.stdout.strip() if found.ok else ""

    def mode_on(self, node: str) -> str:
        return self.proxy.observed.get(node, self.mode)

    def clocks(self, every_node: bool = False) -> dict[str, float]:
        """Each data-plane node's clock (or every node's), now: marks that synced_since compares
        kube-proxy's syncs with. Needs node shells (tests that use it ask for the shells fixture)."""
        return {n.name: kubeproxy.node_clock(self.on(n.name)) for n in (self.nodes if every_node else self.dataplane)}

    def synced_since(self, marks: dict[str, float]) -> Verdict:
        """kube-proxy on every data-plane node queued a sync after its mark, and finished it: a
        change made after the marks is in the data plane (a restarted kube-proxy is Ready before
        its first sync, so Ready says nothing of that). Only when that change is the only one
        under way: another (pods terminating) can queue the sync that is taken for it; and a
        change kube-proxy ignores queues none."""
        seen, reads = {}, []
        for node, mark in marks.items():
            read, times = kubeproxy.sync_times(self.on(node))
            reads.append(read)
            seen[node] = (kubeproxy.synced_after(times, mark), times)
        return holds("kube-proxy synced after the change", bool(seen) and all(ok for ok, _ in seen.values()),
                     "on every data-plane node a sync queued after the change, and done",
                     "; ".join(f"{n}: {'yes' if ok else 'no'} ({t})" for n, (ok, t) in seen.items()), *reads)

    def on_dataplane(self, argv: list[str]) -> dict[str, CommandResult]:
        """Run argv on every node where the requested mode is in force."""
        return {n.name: self.on(n.name).run(argv) for n in self.dataplane}


def read_nodes(kubectl: Kubectl) -> tuple[Node, ...]:
    out = []
    for item in kubectl.get("nodes")["items"]:
        labels = item["metadata"].get("labels", {})
        role = "control-plane" if "node-role.kubernetes.io/control-plane" in labels else "worker"
        ip = next((a["address"] for a in item["status"]["addresses"] if a["type"] == "InternalIP"), "")
        out.append(Node(item["metadata"]["name"], role, ip))
    return tuple(sorted(out, key=lambda n: n.name))


def server_version(kubectl: Kubectl) -> dict[str, str]:
    version = kubectl.run("version", "-o", "json")
    found = json.loads(version.stdout).get("serverVersion", {}) if version.stdout.strip() else {}
    return {k: str(v) for k, v in found.items()}


def lab_facts(live: LiveLab) -> dict[str, Any]:
    """What a reader of the report needs to know about the lab that produced it."""
    server = live.server
    shells = live.node_shells()
    kernel = shells[live.dataplane[0].name].run(["uname", "-r"]).stdout.strip() if shells else ""
    return {
        "provider": live.spec.provider, "name": live.spec.name,
        "kubernetes": server.get("gitVersion", ""), "node_image": live.spec.image,
        "proxy_mode_requested": live.proxy.requested, "proxy_mode_configured": live.proxy.configured,
        "proxy_mode_source": live.proxy.source,
        "proxy_mode_observed": live.proxy.observed, "proxy_mode_support": live.proxy.support,
        "dataplane_nodes": [n.name for n in live.dataplane], "ipvs_scheduler": live.spec.ipvs_scheduler,
        "kernel": kernel, **(_built_facts(live) if live.provider.builds_cluster else _read_facts(live)),
        "components": components.component_images(live.kubectl),
        "node_versions": components.node_versions(live.kubectl),
        "feature_gates": components.feature_gates(live.kubectl),
        "kube_proxy_feature_gates": components.kube_proxy_gates({n.name: shells[n.name] for n in live.dataplane}
                                                                if shells else {}),
        "deprecations": components.deprecation_events(live.kubectl),
        "nodes": [{"name": n.name, "role": n.role, "address": n.address} for n in live.nodes],
        "reused": live.provider.reused,
        "cluster_changes": ("made and undone (svclab's own lab)" if live.provider.builds_cluster
                            else "allowed by --allow-cluster-changes, each undone after" if not read_only(live.spec)
                            else "none (read-only: a cluster svclab did not build)"),
    }


def _built_facts(live: LiveLab) -> dict[str, Any]:
    return {"cni": "labnet (bridge, host-local, portmap + node routes)", "pod_subnet": live.spec.pod_subnet,
            "service_subnet": live.spec.service_subnet}


def _read_facts(live: LiveLab) -> dict[str, Any]:
    """A cluster svclab did not build: what it says of itself, never the spec's defaults."""
    nodes = live.kubectl.get("nodes")["items"]
    cidrs = sorted({c for n in nodes for c in n["spec"].get("podCIDRs", [])})
    info = nodes[0]["status"].get("nodeInfo", {}) if nodes else {}
    scheduler = ((ipvs_scheduler(live.kubectl) or "rr (kube-proxy's default: its ConfigMap names none)")
                 if live.proxy.configured else "not known (no kube-proxy ConfigMap)")
    return {"name": live.spec.target, "cni": "not known (a cluster svclab did not build)",
            "node_image": info.get("osImage", ""), "kernel": info.get("kernelVersion", ""),
            "ipvs_scheduler": scheduler,
            "pod_subnet": ", ".join(cidrs) or "not known (no node has spec.podCIDRs)",
            "service_subnet": ", ".join(live.service_subnets()) or "not known (no ServiceCIDR: Kubernetes < 1.33)",
            "cluster_dns": live.cluster_dns()}


def reported(requested: str, kubectl: Kubectl, nodes: tuple[Node, ...]) -> InForce:
    """The mode each node's kube-proxy reports itself (a cluster that gives no node shell)."""
    modes, _ = kubeproxy.reported_modes(kubectl, [n.name for n in nodes], lab_images().probe)
    return InForce(requested, configured_mode(kubectl), modes, source="kube-proxy reports")


def _settled(requested: str, kubectl: Kubectl, shells: dict[str, Shell], support: dict[str, str]) -> InForce | None:
    found = in_force(requested, kubectl, shells, support)
    return None if "none" in found.observed.values() else found


def _kubectl_binary(spec: LabSpec) -> Path:
    from svclab.core import tools

    return tools.binary("kubectl", spec.kubernetes_version)


def open_lab(spec: LabSpec, provider: Lab) -> LiveLab:
    """The lab behind an up provider, once kube-proxy's rules are on every node; a mode that is
    not the one asked for is an error (svclab never falls back silently)."""
    kubectl = Kubectl(provider.kubeconfig, _kubectl_binary(spec))
    nodes = read_nodes(kubectl)
    shells = {n.name: provider.node_shell(n.name) for n in nodes} if isinstance(provider, NodeShells) else {}
    support = provider.proxy_support() if hasattr(provider, "proxy_support") else {}
    if shells:
        proxy = wait_for(lambda: _settled(spec.proxy_mode, kubectl, shells, support),
                         what="kube-proxy's rules on every node", timeout=120, interval=1)
    else:
        proxy = reported(spec.proxy_mode, kubectl, nodes)
        kubeproxy.no_kube_proxy(kubectl, proxy.observed)
    live = LiveLab(spec, provider, kubectl, nodes, proxy, server_version(kubectl))
    wrong = proxy.mismatch()
    if wrong:
        raise SvclabError(wrong + " svclab never falls back silently.")
    progress.say(f"proxy mode in force: {proxy.configured} (nodes: {proxy.observed})")
    if proxy.support:
        progress.say(f"requests to Service addresses go through {', '.join(proxy.dataplane())} "
                     f"({proxy.requested}); the other nodes run {', '.join(sorted(set(proxy.support.values())))} "
                     "because this host's kernel cannot run the requested mode")
    return live
