"""The IPVS VM node: how it joins, how kube-proxy is split, and that its NICs stay local.

The kube-proxy DaemonSet and ConfigMap were recorded from a real IPVS lab on this machine
(kind control plane and worker, plus the VM node)."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import yaml

from svclab.core.assets import repo_root
from svclab.core.spec import LabSpec
from svclab.labs.vm import LAB_MAC, MGMT_MAC, Vm, VmConfig
from svclab.labs.vmnode import VM_LABEL, join_config, support_configmap, support_daemonset, vm_address

RECORDED = Path(__file__).parent.parent / "recorded" / "lab" / "ipvs-vm"


def recorded(name: str) -> dict:  # type: ignore[type-arg]
    data: dict = json.loads((RECORDED / name).read_text())  # type: ignore[type-arg]
    return data


def test_the_vm_address_is_in_the_lab_network_and_nobody_elses() -> None:
    spec = LabSpec()
    address = ipaddress.ip_address(vm_address(spec))
    assert str(address) == "172.29.0.128"
    assert address in ipaddress.ip_network(spec.network)
    assert address not in ipaddress.ip_network(spec.node_range)  # Docker never hands it out
    assert str(address) not in (*spec.external_ips, *spec.lb_addresses())


def test_join_config_registers_the_vm_with_its_lab_address_and_label() -> None:
    doc = yaml.safe_load(join_config(LabSpec(), "svclab-vm", "svclab-control-plane:6443", "abcdef.0123456789abcdef"))
    assert doc["kind"] == "JoinConfiguration" and doc["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    assert doc["discovery"]["bootstrapToken"]["apiServerEndpoint"] == "svclab-control-plane:6443"
    args = {a["name"]: a["value"] for a in doc["nodeRegistration"]["kubeletExtraArgs"]}
    assert args == {"node-ip": "172.29.0.128", "node-labels": f"{VM_LABEL}=true", "cgroup-root": "/"}
    assert doc["skipPhases"] == ["preflight"]
    # workloads prefer the kind nodes (pods start ~10x slower in the emulated VM); a hard taint
    # would keep the suites' own placements (on_node) off the VM too
    assert doc["nodeRegistration"]["taints"] == [{"key": VM_LABEL, "value": "true", "effect": "PreferNoSchedule"}]


def test_support_configmap_changes_only_the_mode() -> None:
    cm = recorded("kube-proxy-configmap.json")
    out = support_configmap(cm, "iptables")
    before, after = yaml.safe_load(cm["data"]["config.conf"]), yaml.safe_load(out["data"]["config.conf"])
    assert before["mode"] == "ipvs" and after["mode"] == "iptables"
    assert {k: v for k, v in before.items() if k != "mode"} == {k: v for k, v in after.items() if k != "mode"}
    assert out["metadata"] == {"name": "kube-proxy-host", "namespace": "kube-system"}
    assert out["data"]["kubeconfig.conf"] == cm["data"]["kubeconfig.conf"]


def test_support_daemonset_runs_kubeadms_kube_proxy_everywhere_but_the_vm() -> None:
    ds = recorded("kube-proxy-daemonset.json")
    out = support_daemonset(ds)
    pod = out["spec"]["template"]["spec"]
    assert out["metadata"]["name"] == "kube-proxy-host" and "status" not in out
    assert out["spec"]["selector"] == {"matchLabels": {"k8s-app": "kube-proxy-host"}}
    assert out["spec"]["template"]["metadata"]["labels"] == {"k8s-app": "kube-proxy-host"}
    assert pod["containers"] == ds["spec"]["template"]["spec"]["containers"]  # same image, same flags
    assert [v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v] == ["kube-proxy-host"]
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": VM_LABEL, "operator": "DoesNotExist"}]}]
    assert VM_LABEL not in pod["nodeSelector"]
    assert ds["spec"]["template"]["spec"]["nodeSelector"][VM_LABEL] == "true"  # kubeadm's own: the VM only


def test_the_vm_reaches_only_loopback_ssh_and_the_lab_bridge(tmp_path: Path) -> None:
    vm = Vm(VmConfig("svclab-vm", "172.29.0.128", 24, "br-0123456789ab"), tmp_path, tmp_path / "state")
    argv = vm.qemu_argv(tmp_path / "overlay.qcow2")
    netdevs = [argv[i + 1] for i, a in enumerate(argv) if a == "-netdev"]
    assert netdevs == ["user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22",
                       f"tap,id=lab,ifname={vm.tap},script=no,downscript=no"]
    assert "-nodefaults" in argv and "-net" not in argv
    assert "ipv6.disable=1" in argv[argv.index("-append") + 1]  # the lab's fence is IPv4 (iptables)


def test_each_node_name_gets_a_tap_of_its_own(tmp_path: Path) -> None:
    taps = {Vm(VmConfig(name, "172.29.0.128", 24, "br-x"), tmp_path, tmp_path).tap
            for name in ("svclab-ipvs-vm", "svclab-ipvs-2-vm", "svclab-ipvs-vm2")}
    assert len(taps) == 3 and all(len(t) <= 15 for t in taps)  # IFNAMSIZ


def test_the_management_nic_mac_is_the_one_the_image_configures() -> None:
    network = (repo_root() / "lab/images/vm/files/etc/systemd/network/10-mgmt.network").read_text()
    assert f"MACAddress={MGMT_MAC}" in network and LAB_MAC not in network


def test_coredns_is_never_scheduled_on_the_vm_node() -> None:
    """The VM's disk holds only its tests' images: a CoreDNS pod rescheduled there (a rollout
    restart on the IPVS lab) hung in ErrImageNeverPull."""
    import yaml

    from svclab.labs.addons import addons_manifest

    docs = [d for d in yaml.safe_load_all(addons_manifest(LabSpec())) if d]
    coredns = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "coredns")
    terms = coredns["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": VM_LABEL, "operator": "DoesNotExist"}]}]
