"""Pinned versions and the tags of every image the lab uses. Nothing here is pulled."""

from __future__ import annotations

import os
from dataclasses import dataclass

REPOSITORY = "svclab.local"
# Where the workloads' images (myapp, probe, MetalLB) come from. On svclab's own labs they are
# loaded onto the nodes as svclab.local/...; a cluster of the user's gets them from its registry
# (`svclab images --push PREFIX`) or an archive it imported: --image-prefix sets this for the run
# (the environment, so pytest-xdist's workers see it too).
PREFIX_ENV = "SVCLAB_IMAGE_PREFIX"


@dataclass(frozen=True)
class Pins:
    """Upstream versions, each fetched as a Go module (or a Debian package) and built here.

    Kubernetes 1.35 is the newest minor whose kubelet still runs with Debian bookworm's
    containerd 1.6 and on cgroup v1 (with failCgroupV1: false), and the first where IPVS
    mode is deprecated. etcd and CoreDNS are the nearest versions the Go module proxy
    serves to what kubeadm 1.35 asks for (3.6.6-0 and v1.13.1); kubeadm is told the tags.
    """

    kubernetes: str
    kind: str
    etcd: str
    coredns: str
    pause: str
    metallb: str
    debian: str


# one set of pins today; another Kubernetes minor is another Pins (issue 13)
PINS = Pins(kubernetes="v1.35.4", kind="v0.32.0", etcd="v3.6.8", coredns="v1.14.7", pause="3.10.1",
            metallb="v0.15.2", debian="bookworm")


def tag(name: str, version: str) -> str:
    return f"{REPOSITORY}/{name}:{version}"


@dataclass(frozen=True)
class LabImages:
    """What the kind config and the manifests need to know about the images."""

    repository: str
    etcd_tag: str
    coredns_tag: str
    pause: str
    coredns: str
    myapp_v1: str
    myapp_v2: str
    probe: str
    metallb_controller: str
    metallb_speaker: str
    base: str
    labnet: str
    node_base: str
    node: str
    kube_proxy: str
    vm: str


def workload_prefix() -> str:
    return os.environ.get(PREFIX_ENV, "").rstrip("/") or REPOSITORY


WORKLOADS = ("myapp_v1", "myapp_v2", "probe", "metallb_controller", "metallb_speaker")


def lab_images(pins: Pins = PINS) -> LabImages:
    """Every image's name; the workloads' under workload_prefix()."""
    own = built_images(pins)
    prefix = workload_prefix()
    if prefix == REPOSITORY:
        return own
    moved = {name: getattr(own, name).replace(REPOSITORY, prefix, 1) for name in WORKLOADS}
    return LabImages(**{**own.__dict__, **moved})


def built_images(pins: Pins = PINS) -> LabImages:
    """The names the image factory gives them."""
    return LabImages(
        repository=REPOSITORY,
        etcd_tag=f"{pins.etcd.lstrip('v')}-0",
        coredns_tag=pins.coredns,
        pause=tag("pause", pins.pause),
        coredns=tag("coredns", pins.coredns),
        myapp_v1=tag("myapp", "v1"),
        myapp_v2=tag("myapp", "v2"),
        probe=tag("probe", "v1"),
        metallb_controller=tag("metallb-controller", pins.metallb),
        metallb_speaker=tag("metallb-speaker", pins.metallb),
        base=tag("debian", pins.debian),
        labnet=tag("labnet", "v1"),
        node_base=tag("node-base", pins.kubernetes),
        node=tag("node", pins.kubernetes),
        kube_proxy=tag("kube-proxy", pins.kubernetes),
        vm=tag("vm", pins.kubernetes),
    )


VM_FILES = ("vm/disk.raw", "vm/vmlinuz", "vm/initrd.img")  # what the image factory leaves for the IPVS VM
VM_KEY = "vm/id_ed25519"  # the VM's SSH key, made with its disk


def vm_node_images(pins: Pins = PINS) -> tuple[str, ...]:
    """What the IPVS VM's node runs: unpacked on its disk at build time (unpacking under
    emulation is about 4.5 MiB/s)."""
    i = lab_images(pins)
    return (i.pause, i.kube_proxy, i.labnet, i.myapp_v1, i.myapp_v2, i.probe, i.metallb_speaker)
