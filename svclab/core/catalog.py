"""Pinned versions and the tags of every image the lab uses. Nothing here is pulled."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace

from svclab.core.errors import SpecError

REPOSITORY = "svclab.local"
# Where the workloads' images (myapp, probe, MetalLB) come from. On svclab's own labs they are
# loaded onto the nodes as svclab.local/...; a cluster of the user's gets them from its registry
# (`svclab images --push PREFIX`) or an archive it imported: --image-prefix sets this for the run
# (the environment, so pytest-xdist's workers see it too).
PREFIX_ENV = "SVCLAB_IMAGE_PREFIX"


@dataclass(frozen=True)
class Pins:
    """Upstream versions, each fetched as a Go module (or a Debian package) and built here.

    Only `kubernetes` differs from one pinned minor to the next: etcd, CoreDNS, pause and
    MetalLB are shared, and kubeadm is told their tags (kubeadm 1.35 asks for etcd 3.6.6-0,
    CoreDNS v1.13.1, pause 3.10.1; 1.37 for 3.7.0-0, v1.14.6, 3.10.2: the labs run etcd 3.6.8,
    CoreDNS v1.14.7 and pause 3.10.1 for every minor). One kind serves every minor: kind
    v0.33.0 differs from v0.32.0 only in its default node image, kindnetd and Docker proxy
    settings, not in the kubeadm configuration it writes (compared at source).
    """

    kubernetes: str
    kind: str
    etcd: str
    coredns: str
    pause: str
    metallb: str
    debian: str

    @property
    def minor(self) -> str:
        return ".".join(self.kubernetes.lstrip("v").split(".")[:2])

    @property
    def k8s_module(self) -> str:
        """The Go module (under the repo) whose go.mod pins this Kubernetes and its staging modules."""
        return f"lab/images/go/kubernetes-{self.minor}"

    @property
    def k8s_folder(self) -> str:
        """Where the image factory leaves this Kubernetes' binaries, under the cache."""
        return f"k8s-{self.kubernetes}"

    @property
    def vm_folder(self) -> str:
        """The IPVS VM's disk, kernel and SSH key for this Kubernetes, under the cache."""
        return f"vm/{self.kubernetes}"

    @property
    def vagrant_folder(self) -> str:
        """The Vagrant lab's box, kernel and initrd for this Kubernetes, under the cache."""
        return f"vagrant/{self.kubernetes}"


SHARED = Pins(kubernetes="", kind="v0.32.0", etcd="v3.6.8", coredns="v1.14.7", pause="3.10.1",
              metallb="v0.15.2", debian="bookworm")
# The latest patch of each minor on the Go module proxy. 1.35 is the default: the first minor
# where IPVS mode is deprecated. kubelet 1.35-1.37 still run with Debian bookworm's containerd
# 1.6 (its cgroupDriver fallback goes in 1.38) and on cgroup v1 (failCgroupV1: false).
PIN_TABLE = {p.minor: p for p in (replace(SHARED, kubernetes=v) for v in ("v1.35.4", "v1.36.3", "v1.37.2"))}
DEFAULT_MINOR = "1.35"
PINS = PIN_TABLE[DEFAULT_MINOR]


def pins_for(version: str) -> Pins:
    """The pins of a Kubernetes version given as 1.37, v1.37 or v1.37.2 (the pinned patch only)."""
    found = re.fullmatch(r"v?(1\.\d+)(\.\d+)?", version.strip())
    pins = PIN_TABLE.get(found.group(1)) if found else None
    if pins is None or (found and found.group(2) and version.strip().lstrip("v") != pins.kubernetes.lstrip("v")):
        known = ", ".join(f"{m} ({p.kubernetes})" for m, p in PIN_TABLE.items())
        raise SpecError(f"Kubernetes {version!r} is not one svclab pins and builds: use one of {known}.")
    return pins


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


def vm_files(pins: Pins = PINS) -> tuple[str, ...]:
    """What the image factory leaves for the IPVS VM, under the cache."""
    return tuple(f"{pins.vm_folder}/{name}" for name in ("disk.raw", "vmlinuz", "initrd.img"))


def vm_key(pins: Pins = PINS) -> str:
    """The VM's SSH key, made with its image."""
    return f"{pins.vm_folder}/id_ed25519"


def vm_node_images(pins: Pins = PINS) -> tuple[str, ...]:
    """What the IPVS VM's node runs: unpacked on its disk at build time (unpacking under
    emulation is about 4.5 MiB/s)."""
    i = lab_images(pins)
    return (i.pause, i.kube_proxy, i.labnet, i.myapp_v1, i.myapp_v2, i.probe, i.metallb_speaker)


def vagrant_box(pins: Pins = PINS) -> str:
    """The name the Vagrant lab's box is added under (`vagrant box list`)."""
    return f"svclab/node-{pins.kubernetes}"


def vagrant_files(pins: Pins = PINS) -> tuple[str, ...]:
    """What the image factory leaves for the Vagrant lab, under the cache: the box, and the
    kernel and initrd it boots (svclab's box is a bare filesystem, booted directly)."""
    return tuple(f"{pins.vagrant_folder}/{name}" for name in ("svclab-node.box", "vmlinuz", "initrd.img"))


def vagrant_node_images(pins: Pins = PINS) -> tuple[str, ...]:
    """What the Vagrant lab's machines run: a worker's images and the control plane's (one
    box for the master and the workers, as in the seeds' lab)."""
    i = built_images(pins)
    plane = (tag(n, pins.kubernetes) for n in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"))
    return (*vm_node_images(pins), *plane, tag("etcd", i.etcd_tag), i.coredns, i.metallb_controller)
