"""Which kube-proxy mode is really in force: its ConfigMap, and each node's data plane."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yaml

from svclab.kubectl import Kubectl
from svclab.providers import NodeShell


@dataclass(frozen=True)
class InForce:
    requested: str
    configured: str  # from the kube-proxy ConfigMap ("" there means iptables on Linux)
    observed: dict[str, str]  # node -> mode its rules show

    def mismatch(self) -> str | None:
        """One sentence when what runs is not what was asked for, else None."""
        wrong = {n: m for n, m in self.observed.items() if m != self.requested}
        if self.configured != self.requested:
            return (f"kube-proxy mode {self.requested!r} was requested but its ConfigMap says "
                    f"{self.configured!r}.")
        if wrong:
            seen = ", ".join(f"{n}: {m}" for n, m in sorted(wrong.items()))
            return (f"kube-proxy mode {self.requested!r} was requested but the nodes' rules show "
                    f"otherwise ({seen}).")
        return None


def configured_mode(kubectl: Kubectl) -> str:
    cm = kubectl.get("configmap", "kube-proxy", namespace="kube-system")
    config = yaml.safe_load(cm["data"]["config.conf"]) or {}
    return str(config.get("mode") or "iptables")


def observed_mode(shell: NodeShell, node: str) -> str:
    """ipvs when kube-ipvs0 carries Service IPs; nftables when the kube-proxy nft table
    exists; iptables when the nat table has KUBE-SERVICES; else "none"."""
    if shell.node_run(node, ["ip", "link", "show", "kube-ipvs0"]).ok:
        return "ipvs"
    if shell.node_run(node, ["nft", "list", "table", "ip", "kube-proxy"]).ok:
        return "nftables"
    nat = shell.node_run(node, ["iptables-save", "-t", "nat"])
    if nat.ok and ":KUBE-SERVICES" in nat.stdout:
        return "iptables"
    return "none"


def in_force(requested: str, kubectl: Kubectl, shell: NodeShell | None,
             nodes: Sequence[str]) -> InForce:
    observed = {n: observed_mode(shell, n) for n in nodes} if shell else {}
    return InForce(requested, configured_mode(kubectl), observed)
