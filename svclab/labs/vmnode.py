"""The IPVS node of a kind lab on a host whose kernel has no ip_vs: a worker in a qemu VM.

The control plane and the other nodes stay kind containers. The VM joins them through a tap
on the lab's Docker bridge and runs kube-proxy in IPVS mode (kubeadm's kube-proxy DaemonSet,
pinned to it). The kind nodes cannot run IPVS on this kernel, so they run a copy of that
DaemonSet in iptables mode, and the lab says so: the suites send their requests from the VM.
"""

from __future__ import annotations

import copy
import ipaddress
import json
from pathlib import Path
from typing import Any

import yaml

from svclab.core import progress, tools
from svclab.core.catalog import pins_for
from svclab.core.errors import LabError
from svclab.core.kubectl import Kubectl
from svclab.core.result import run
from svclab.core.spec import LabSpec
from svclab.core.wait import wait_for
from svclab.labs.vm import Vm, VmConfig

VM_LABEL = "svclab.io/vm"
SUPPORT_MODE = "iptables"  # what the kind nodes run when the requested mode needs ip_vs
JOIN_TIMEOUT = 600.0


def vm_address(spec: LabSpec) -> str:
    """The address right after the node range: Docker never hands it to a container."""
    return str(ipaddress.ip_network(spec.node_range).broadcast_address + 1)


def join_config(spec: LabSpec, name: str, endpoint: str, token: str) -> str:
    doc = {
        "apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "JoinConfiguration",
        "discovery": {"bootstrapToken": {"apiServerEndpoint": endpoint, "token": token,
                                         "unsafeSkipCAVerification": True}},
        "nodeRegistration": {
            "name": name, "criSocket": "unix:///run/containerd/containerd.sock",
            # the kind nodes' cgroup root /kubelet is made by kind's entrypoint; a machine of
            # its own (cgroup v2, systemd) runs its pods under the root, as kubeadm does
            "kubeletExtraArgs": [{"name": "node-ip", "value": vm_address(spec)},
                                 {"name": "node-labels", "value": f"{VM_LABEL}=true"},
                                 {"name": "cgroup-root", "value": "/"}],
            # pods start 10x slower under qemu's emulation: workloads prefer the kind nodes, and
            # a suite places a pod on the VM where the check needs it there (on_node)
            "taints": [{"key": VM_LABEL, "value": "true", "effect": "PreferNoSchedule"}],
        },
        "skipPhases": ["preflight"],
    }
    return yaml.safe_dump(doc)


def split_kube_proxy(kubectl: Kubectl, support_mode: str) -> None:
    """Pin kubeadm's kube-proxy to the VM nodes; give the other nodes a copy in support_mode."""
    cm = kubectl.get("configmap", "kube-proxy", namespace="kube-system")
    ds = kubectl.get("daemonset", "kube-proxy", namespace="kube-system")
    kubectl.apply(json.dumps(support_configmap(cm, support_mode)), "kube-system")
    kubectl.apply(json.dumps(support_daemonset(ds)), "kube-system")
    patch = {"spec": {"template": {"spec": {"nodeSelector": {VM_LABEL: "true"}}}}}
    kubectl.run("patch", "daemonset", "kube-proxy", "-n", "kube-system", "--type", "merge",
                "-p", json.dumps(patch)).check("pinning kube-proxy to the IPVS VM")


def support_configmap(cm: dict[str, Any], mode: str) -> dict[str, Any]:
    config = yaml.safe_load(cm["data"]["config.conf"])
    config["mode"] = mode
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "kube-proxy-host", "namespace": "kube-system"},
            "data": {**cm["data"], "config.conf": yaml.safe_dump(config)}}


def support_daemonset(ds: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(ds)
    out["metadata"] = {"name": "kube-proxy-host", "namespace": "kube-system",
                       "labels": {"k8s-app": "kube-proxy-host"}}
    out.pop("status", None)
    spec = out["spec"]
    spec["selector"] = {"matchLabels": {"k8s-app": "kube-proxy-host"}}
    spec["template"]["metadata"]["labels"] = {"k8s-app": "kube-proxy-host"}
    pod = spec["template"]["spec"]
    for volume in pod["volumes"]:
        if volume.get("configMap", {}).get("name") == "kube-proxy":
            volume["configMap"]["name"] = "kube-proxy-host"
    pod["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": VM_LABEL, "operator": "DoesNotExist"}]}]}}}
    pod["nodeSelector"] = {"kubernetes.io/os": "linux"}  # not kubeadm's: that one is the VM's
    return out


class VmNode:
    """One worker of the kind lab, in the IPVS VM."""

    def __init__(self, spec: LabSpec, state: Path) -> None:
        self.spec = spec
        self.name = f"{spec.name}-vm"
        self.state = state / "vm"
        self.vm: Vm | None = None

    def problems(self) -> list[str]:
        out = self._vm("unknown").problems()
        address = vm_address(self.spec)
        if ipaddress.ip_address(address) not in ipaddress.ip_network(self.spec.network):
            out.append(f"its address {address} (right after the node range) is outside the lab network")
        elif address in (*self.spec.external_ips, *self.spec.lb_addresses()):
            out.append(f"its address {address} (right after the node range) is an external or LoadBalancer IP")
        return out

    def start(self, bridge: str) -> None:
        """Boot the VM on the lab bridge; it boots while kind creates the other nodes."""
        self.vm = self._vm(bridge)
        if not self.vm.running():
            progress.say(f"booting the IPVS VM {self.name} (qemu, software emulation) on {bridge}")
        self.vm.start()

    def join(self, kubectl: Kubectl, control_plane: str, containers: dict[str, str]) -> None:
        vm = self._running()
        with progress.step(f"joining {self.name} (kubelet, containerd, kube-proxy in IPVS mode) to the lab"):
            vm.wait_ssh()
            vm.join_lab_network(containers)
            if self.name in kubectl.run("get", "nodes", "-o", "name").stdout:
                kubectl.run("delete", "node", self.name)  # a kept lab's VM was restarted: join afresh
            token = run(["docker", "exec", control_plane, "kubeadm", "token", "create", "--ttl", "30m"]
                        ).check("kubeadm token create").stdout.strip()
            config = join_config(self.spec, self.name, f"{control_plane}:6443", token)
            vm.ssh.run(["sh", "-c", "cat > /kind/join.yaml"], stdin=config).check("writing the join config")
            vm.ssh.run(["kubeadm", "join", "--config", "/kind/join.yaml"], timeout=JOIN_TIMEOUT).check(
                f"kubeadm join on {self.name}")
            wait_for(lambda: self._ready(kubectl), what=f"node {self.name} Ready", timeout=400, interval=2,
                     describe=lambda: vm.ssh.run(["journalctl", "-u", "kubelet", "-n", "15", "--no-pager"]).stdout)

    def _ready(self, kubectl: Kubectl) -> bool:
        """The node exists (its kubelet registered it, which follows the join) and is Ready."""
        found = kubectl.run("get", "node", self.name, "-o",
                            "jsonpath={.status.conditions[?(@.type=='Ready')].status}")
        return found.ok and found.stdout.strip() == "True"

    def joined(self, kubectl: Kubectl) -> bool:
        vm = self._vm("unknown")
        return bool(vm.running()) and self.name in kubectl.run("get", "nodes", "-o", "name").stdout

    def running(self) -> bool:
        return bool(self._vm("unknown").running())

    def reattach(self, bridge: str) -> None:
        self.vm = self._vm(bridge)

    def wait_kube_proxy(self, kubectl: Kubectl) -> None:
        vm = self._running()
        wait_for(lambda: vm.ssh.run(["ip", "link", "show", "kube-ipvs0"]).ok,
                 what=f"kube-proxy's kube-ipvs0 on {self.name}", timeout=300, interval=2,
                 describe=lambda: kubectl.run("get", "pods", "-n", "kube-system", "-o", "wide",
                                              "--field-selector", f"spec.nodeName={self.name}").stdout)

    def export_logs(self, dest: Path) -> None:
        vm = self.vm or self._vm("unknown")
        dest.mkdir(parents=True, exist_ok=True)
        if vm.console.exists():
            (dest / "console.log").write_bytes(vm.console.read_bytes())
        if vm.running():
            for unit in ("kubelet", "containerd"):
                log = vm.ssh.run(["journalctl", "-u", unit, "--no-pager"], timeout=120)
                (dest / f"{unit}.log").write_text(log.stdout + log.stderr)

    def stop(self) -> None:
        vm = self.vm or self._vm("unknown")
        if vm.running():
            progress.say(f"stopping the IPVS VM {self.name}")
        vm.stop()

    def _running(self) -> Vm:
        if self.vm is None or not self.vm.running():
            raise LabError(f"the IPVS VM {self.name} is not running (qemu exited); its console log is "
                           f"{self.state / 'console.log'}")
        return self.vm

    def _vm(self, bridge: str) -> Vm:
        prefix = ipaddress.ip_network(self.spec.network).prefixlen
        return Vm(VmConfig(self.name, vm_address(self.spec), prefix, bridge), tools.cache_dir(), self.state,
                  pins_for(self.spec.kubernetes_version))
