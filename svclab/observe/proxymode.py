"""Which kube-proxy mode is really in force: its ConfigMap, and each node's data plane."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml

from svclab.core.kubectl import Kubectl
from svclab.core.shell import Shell


@dataclass(frozen=True)
class InForce:
    requested: str
    configured: str  # from the kube-proxy ConfigMap ("" there means iptables on Linux)
    observed: dict[str, str]  # node -> mode its rules show
    # node -> the mode the lab runs there on purpose, because that node's kernel cannot run
    # the requested one (the IPVS lab's kind nodes on a host without ip_vs); said, never silent
    support: dict[str, str] = field(default_factory=dict)

    def dataplane(self) -> list[str]:
        """The nodes whose rules show the requested mode (never a node declared in another)."""
        return sorted(n for n, m in self.observed.items() if m == self.requested and n not in self.support)

    def mismatch(self) -> str | None:
        """One sentence when what runs is not what was asked for, else None."""
        wrong = {n: m for n, m in self.observed.items() if m != self.support.get(n, self.requested)}
        if self.configured != self.requested:
            return (f"kube-proxy mode {self.requested!r} was requested but its ConfigMap says "
                    f"{self.configured!r}.")
        if wrong:
            seen = ", ".join(f"{n}: {m}" for n, m in sorted(wrong.items()))
            return (f"kube-proxy mode {self.requested!r} was requested but the nodes' rules show "
                    f"otherwise ({seen}).")
        if self.observed and not self.dataplane():
            return f"kube-proxy mode {self.requested!r} was requested but no node runs it."
        return None


def configured_mode(kubectl: Kubectl) -> str:
    cm = kubectl.get("configmap", "kube-proxy", namespace="kube-system")
    config = yaml.safe_load(cm["data"]["config.conf"]) or {}
    return str(config.get("mode") or "iptables")


def observed_mode(shell: Shell) -> str:
    """ipvs when kube-ipvs0 carries Service IPs; nftables when the kube-proxy nft table
    exists; iptables when the nat table has KUBE-SERVICES; else "none"."""
    if shell.run(["ip", "link", "show", "kube-ipvs0"]).ok:
        return "ipvs"
    if shell.run(["nft", "list", "table", "ip", "kube-proxy"]).ok:
        return "nftables"
    nat = shell.run(["iptables-save", "-t", "nat"])
    if nat.ok and ":KUBE-SERVICES" in nat.stdout:
        return "iptables"
    return "none"


def in_force(requested: str, kubectl: Kubectl, shells: Mapping[str, Shell],
             support: dict[str, str] | None = None) -> InForce:
    """The mode kube-proxy is configured with, and the one each node's shell shows ({} without)."""
    observed = {node: observed_mode(shell) for node, shell in shells.items()}
    return InForce(requested, configured_mode(kubectl), observed, dict(support or {}))


def ipvs_scheduler(kubectl: Kubectl) -> str:
    """The IPVS scheduler kube-proxy's ConfigMap sets ("" means kube-proxy's default, rr)."""
    cm = kubectl.get("configmap", "kube-proxy", namespace="kube-system")
    config = yaml.safe_load(cm["data"]["config.conf"]) or {}
    return str((config.get("ipvs") or {}).get("scheduler") or "")


def set_ipvs_scheduler(kubectl: Kubectl, scheduler: str) -> None:
    """Give kube-proxy (the IPVS one) another scheduler: edit its ConfigMap, restart its pods."""
    cm = kubectl.get("configmap", "kube-proxy", namespace="kube-system")
    config = yaml.safe_load(cm["data"]["config.conf"]) or {}
    if str((config.get("ipvs") or {}).get("scheduler") or "") == scheduler:
        return
    config.setdefault("ipvs", {})["scheduler"] = scheduler
    patch = json.dumps({"data": {"config.conf": yaml.safe_dump(config)}})
    kubectl.run("patch", "configmap", "kube-proxy", "-n", "kube-system", "--type", "merge", "-p", patch).check(
        f"setting kube-proxy's IPVS scheduler to {scheduler}")
    kubectl.run("delete", "pod", "-n", "kube-system", "-l", "k8s-app=kube-proxy", timeout=120).check(
        "restarting kube-proxy")
    kubectl.run("rollout", "status", "daemonset/kube-proxy", "-n", "kube-system", "--timeout=240s",
                timeout=260).check("kube-proxy back after the restart")
