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
    configured: str  # from kubeadm's kube-proxy ConfigMap; "" when the cluster has none
    observed: dict[str, str]  # node -> mode its rules show (or its kube-proxy reports: see source)
    # node -> the mode the lab runs there on purpose, because that node's kernel cannot run
    # the requested one (the IPVS lab's kind nodes on a host without ip_vs); said, never silent
    support: dict[str, str] = field(default_factory=dict)
    source: str = "rules"  # or "kube-proxy reports" (/proxyMode), on a cluster with no node shell

    def dataplane(self) -> list[str]:
        """The nodes whose rules show the requested mode (never a node declared in another)."""
        return sorted(n for n, m in self.observed.items() if m == self.requested and n not in self.support)

    def mismatch(self) -> str | None:
        """One sentence when what runs is not what was asked for, else None."""
        wrong = {n: m for n, m in self.observed.items() if m != self.support.get(n, self.requested)}
        if self.configured and self.configured != self.requested:
            return (f"kube-proxy mode {self.requested!r} was requested but its ConfigMap says "
                    f"{self.configured!r}.")
        if wrong:
            seen = ", ".join(f"{n}: {m}" for n, m in sorted(wrong.items()))
            return (f"kube-proxy mode {self.requested!r} was requested but the nodes' {self.source} show "
                    f"otherwise ({seen}).")
        if self.observed and not self.dataplane():
            return f"kube-proxy mode {self.requested!r} was requested but no node runs it."
        return None


def configured_mode(kubectl: Kubectl) -> str:
    """The mode kubeadm's kube-proxy ConfigMap sets; "" when the cluster has no such ConfigMap
    (not installed by kubeadm: then only what the nodes show or report counts)."""
    found = kubectl.run("get", "configmap", "kube-proxy", "-n", "kube-system", "-o", "json")
    if not found.ok or "config.conf" not in json.loads(found.stdout).get("data", {}):
        return ""
    config = yaml.safe_load(json.loads(found.stdout)["data"]["config.conf"]) or {}
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


def kube_proxy_config(kubectl: Kubectl) -> str:
    """kube-proxy's configuration as its ConfigMap holds it, byte for byte (kubeadm's layout)."""
    return str(kubectl.get("configmap", "kube-proxy", namespace="kube-system")["data"]["config.conf"])


def ipvs_scheduler(kubectl: Kubectl) -> str:
    """The IPVS scheduler kube-proxy's ConfigMap sets ("" means kube-proxy's default, rr)."""
    config = yaml.safe_load(kube_proxy_config(kubectl)) or {}
    return str((config.get("ipvs") or {}).get("scheduler") or "")


def set_kube_proxy_options(kubectl: Kubectl, options: dict[str, dict[str, object]], why: str) -> None:
    """Set options in sections of kube-proxy's configuration ({"ipvs": {"scheduler": "sh"}}):
    edit its ConfigMap, restart its pods; nothing when they already hold."""
    config = yaml.safe_load(kube_proxy_config(kubectl)) or {}
    if all((config.get(section) or {}).get(k) == v for section, kv in options.items() for k, v in kv.items()):
        return
    for section, kv in options.items():
        config[section] = {**(config.get(section) or {}), **kv}
    put_kube_proxy_config(kubectl, yaml.safe_dump(config), why)


def set_ipvs_scheduler(kubectl: Kubectl, scheduler: str) -> None:
    """Give kube-proxy (the IPVS one) another scheduler: edit its ConfigMap, restart its pods."""
    if ipvs_scheduler(kubectl) != scheduler:
        set_kube_proxy_options(kubectl, {"ipvs": {"scheduler": scheduler}},
                               f"setting kube-proxy's IPVS scheduler to {scheduler}")


def set_masquerade_all(kubectl: Kubectl, on: bool) -> None:
    """kube-proxy SNATs all Service traffic (masqueradeAll) or only what needs it. The iptables
    section's flag is the one iptables and IPVS mode read; nftables mode reads its own."""
    set_kube_proxy_options(kubectl, {"iptables": {"masqueradeAll": on}, "nftables": {"masqueradeAll": on}},
                           f"setting kube-proxy's masqueradeAll to {str(on).lower()}")


def put_kube_proxy_config(kubectl: Kubectl, text: str, why: str) -> None:
    """Write kube-proxy's configuration (the exact text: restoring puts back the original bytes)
    and restart its pods so that they read it; nothing when it is already that text."""
    if kube_proxy_config(kubectl) == text:
        return
    patch = json.dumps({"data": {"config.conf": text}})
    kubectl.run("patch", "configmap", "kube-proxy", "-n", "kube-system", "--type", "merge", "-p", patch).check(why)
    kubectl.run("delete", "pod", "-n", "kube-system", "-l", "k8s-app=kube-proxy", timeout=120).check(
        "restarting kube-proxy")
    kubectl.run("rollout", "status", "daemonset/kube-proxy", "-n", "kube-system", "--timeout=240s",
                timeout=260).check("kube-proxy back after the restart")
