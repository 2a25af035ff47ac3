"""The kind config and the lab add-ons svclab renders from a spec, parsed back as YAML."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import yaml

from svclab.core.assets import repo_root
from svclab.core.catalog import lab_images
from svclab.core.spec import LabSpec
from svclab.labs.addons import LAB_ZONE, addons_manifest, dns_server
from svclab.labs.kind import kind_config, kubelet_settings

SPEC = LabSpec()


def config(spec: LabSpec = SPEC, cgroup_version: int = 2) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(kind_config(spec, cgroup_version))
    return loaded


def patches(spec: LabSpec = SPEC, cgroup_version: int = 2) -> dict[str, dict[str, Any]]:
    """The kubeadmConfigPatches, each parsed, by their `kind`."""
    parsed = [yaml.safe_load(p) for p in config(spec, cgroup_version)["kubeadmConfigPatches"]]
    by_kind = {p["kind"]: p for p in parsed}
    assert len(by_kind) == len(parsed), "one patch per kind"
    return by_kind


def addons(spec: LabSpec = SPEC) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(addons_manifest(spec)) if d]


def only(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def containers(docs: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for doc in docs:
        pod = doc.get("spec", {}).get("template", {}).get("spec", {})
        yield from pod.get("initContainers", [])
        yield from pod.get("containers", [])


# ---------------------------------------------------------------- the kind config


@pytest.mark.parametrize("nodes", [1, 3, 5])
def test_one_control_plane_and_the_rest_workers_all_on_the_spec_image(nodes: int) -> None:
    spec = replace(SPEC, nodes=nodes)
    found = config(spec)["nodes"]

    assert [n["role"] for n in found] == ["control-plane"] + ["worker"] * (nodes - 1)
    assert {n["image"] for n in found} == {spec.image}


@pytest.mark.parametrize("mode", ["ipvs", "iptables", "nftables"])
def test_networking_follows_the_spec(mode: str) -> None:
    spec = replace(SPEC, proxy_mode=mode, pod_subnet="10.200.0.0/16", service_subnet="10.100.0.0/16")
    found = config(spec)

    assert (found["kind"], found["apiVersion"], found["name"]) == ("Cluster", "kind.x-k8s.io/v1alpha4", "svclab")
    assert found["networking"] == {
        "kubeProxyMode": mode, "podSubnet": "10.200.0.0/16", "serviceSubnet": "10.100.0.0/16",
        "disableDefaultCNI": True,
    }


def test_kubeadm_skips_preflight_and_its_own_coredns() -> None:
    assert patches()["InitConfiguration"]["skipPhases"] == ["preflight", "addon/coredns"]


def test_kubeadm_pulls_nothing_and_gets_the_local_etcd_tag() -> None:
    cluster = patches()["ClusterConfiguration"]

    assert cluster["imageRepository"] == "svclab.local"
    assert cluster["etcd"]["local"]["imageTag"] == "3.6.8-0" == lab_images().etcd_tag


@pytest.mark.parametrize("scheduler", ["rr", "sh", "wlc"])
def test_kube_proxy_gets_the_ipvs_scheduler(scheduler: str) -> None:
    proxy = patches(replace(SPEC, ipvs_scheduler=scheduler))["KubeProxyConfiguration"]

    assert proxy["ipvs"] == {"scheduler": scheduler, "strictARP": True}


@pytest.mark.parametrize(("version", "cgroup", "expected"), [
    ("v1.35.4", 1, {"failCgroupV1": "false"}),
    ("v1.36.3", 1, {"failCgroupV1": "false"}),
    ("v1.37.2", 1, {"failCgroupV1": "false"}),
    ("v1.35.4", 2, {}),
    ("v1.34.2", 1, {}),  # not pinned: only the kubelet's settings are asked (no kind config is written)
    ("v1.34.2", 2, {}),
])
def test_kubelet_is_told_to_run_on_cgroup_v1_only_when_needed(
    version: str, cgroup: int, expected: dict[str, str]
) -> None:
    spec = replace(SPEC, kubernetes_version=version)
    assert kubelet_settings(spec, cgroup) == expected
    if version == "v1.34.2":
        return
    found = patches(spec, cgroup)
    if expected:
        assert found["KubeletConfiguration"] == {"kind": "KubeletConfiguration", "failCgroupV1": False}
    else:
        assert "KubeletConfiguration" not in found
        assert "failCgroupV1" not in kind_config(spec, cgroup)


# ---------------------------------------------------------------- the add-ons


@pytest.mark.parametrize(("subnet", "server"), [("10.96.0.0/12", "10.96.0.10"), ("10.100.0.0/16", "10.100.0.10")])
def test_kube_dns_is_the_tenth_address_of_the_service_subnet(subnet: str, server: str) -> None:
    spec = replace(SPEC, service_subnet=subnet)
    service = only(addons(spec), "Service", "kube-dns")

    assert dns_server(spec) == server
    assert service["metadata"]["namespace"] == "kube-system"
    assert service["spec"]["clusterIP"] == server
    assert {(p["port"], p["protocol"]) for p in service["spec"]["ports"]} >= {(53, "UDP"), (53, "TCP")}


def corefile() -> list[list[str]]:
    text = only(addons(), "ConfigMap", "coredns")["data"]["Corefile"]
    return [line.split() for line in text.splitlines() if line.strip()]


def test_coredns_forwards_nothing_off_the_machine() -> None:
    directives = {words[0] for words in corefile()}

    assert "forward" not in directives
    assert "proxy" not in directives  # the plugin `forward` replaced


def test_coredns_serves_cluster_local_and_the_lab_zone() -> None:
    lines = corefile()
    data = only(addons(), "ConfigMap", "coredns")["data"]

    assert LAB_ZONE == "k8s.example.com"
    assert ["file", "/etc/coredns/lab.zone", LAB_ZONE] in lines
    assert ["kubernetes", "cluster.local", "in-addr.arpa", "ip6.arpa", "{"] in lines
    zone = [line.split() for line in data["lab.zone"].splitlines()]
    assert ["$ORIGIN", f"{LAB_ZONE}."] in zone
    assert ["my", "30", "IN", "A", SPEC.external_ips[0]] in zone


def test_every_addon_image_is_local_and_never_pulled() -> None:
    found = list(containers(addons()))

    assert {c["name"] for c in found} == {"labnet", "coredns"}
    for container in found:
        assert container["image"].startswith("svclab.local/"), container["name"]
        assert container["imagePullPolicy"] == "Never", container["name"]
    assert {c["image"] for c in found} == {lab_images().labnet, lab_images().coredns}


def test_node_containerd_sandbox_image_is_the_lab_pause_image() -> None:
    path = repo_root() / "lab" / "images" / "node" / "files" / "etc" / "containerd" / "config.toml"
    cri = tomllib.loads(path.read_text())["plugins"]["io.containerd.grpc.v1.cri"]

    assert cri["sandbox_image"] == lab_images().pause
