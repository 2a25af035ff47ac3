"""The factory's steps: Go and C builds, the Debian base, component images, the node."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from svclab.core.catalog import (
    PINS,
    Pins,
    built_images,
    tag,
    vagrant_files,
    vagrant_node_images,
    vm_files,
    vm_key,
    vm_node_images,
)
from svclab.images.factory import Ctx, Step, containerd_container, docker_build
from svclab.images.vagrantbox import make_vagrant_box
from svclab.images.vmdisk import DISK_SIZE, build_vm_image, make_vm_disk

GO_ENV = {"CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
K8S_BINARIES = (
    "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy",
    "kubeadm", "kubelet", "kubectl",
)
DEBIAN_MIRROR = "http://deb.debian.org/debian"


def k8s_ldflags(version: str) -> str:
    major, minor = version.lstrip("v").split(".")[:2]
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={version}", f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}", f"-X {pkg}.gitTreeState=clean",
            f"-X {pkg}.gitCommit=0000000000000000000000000000000000000000",
            f"-X {pkg}.buildDate=2026-01-01T00:00:00Z",
        ]
    return " ".join(flags)


def make_base(ctx: Ctx, pins: Pins, image: str) -> None:
    """debootstrap a minimal Debian root and import it: the parent of every Debian image."""
    with tempfile.TemporaryDirectory(prefix="svclab-rootfs-", dir=ctx.cache) as tmp:
        root = Path(tmp) / "root"
        ctx.run(["debootstrap", "--variant=minbase", pins.debian, str(root), DEBIAN_MIRROR])
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (root / junk).glob("*"):
                if path.is_file():
                    path.unlink()
        with ctx.log.open("a") as log:
            tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
            rc = subprocess.call(
                ["docker", "import", "--change", f"LABEL svclab.key={ctx.key}",
                 "--change", 'CMD ["/bin/bash"]', "-", image],
                stdin=tar.stdout, stdout=log, stderr=subprocess.STDOUT,
            )
            tar.wait()
        if rc or tar.returncode:
            ctx.fail(f"docker import exited with {rc} (tar {tar.returncode})")


def preload_node(ctx: Ctx, base: str, node: str, images: list[str]) -> None:
    """Import every component image into the node's containerd (unpacked at first use)."""
    archive = ctx.cache / "node-images.tar"
    ctx.run(["docker", "save", "-o", str(archive), *images])
    try:
        with containerd_container(ctx, base, {str(archive): "/images.tar:ro"}) as name:
            ctx.run(["docker", "exec", name, "ctr", "-n", "k8s.io", "images", "import",
                     "--no-unpack", "--digests", "/images.tar"])
            ctx.run(["docker", "exec", name, "ctr", "-n", "k8s.io", "images", "ls", "-q"])
            ctx.run(["docker", "stop", "-t", "10", name])
            ctx.run([
                "docker", "commit",
                "--change", 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]',
                "--change", "CMD []", "--change", f"LABEL svclab.key={ctx.key}", name, node,
            ])
    finally:
        archive.unlink(missing_ok=True)


def _component_builder(image: str, name: str, k8s: str) -> Callable[[Ctx], None]:
    return lambda c: docker_build(c, image, "component", {name: c.cache / k8s / name}, BIN=name)


def _metallb_builder(image: str, binary: str) -> Callable[[Ctx], None]:
    return lambda c: docker_build(c, image, "metallb", {binary: c.cache / "bin" / binary}, BIN=binary)


def _myapp_builder(image: str, version: str) -> Callable[[Ctx], None]:
    return lambda c: docker_build(c, image, "myapp", {"myapp": c.cache / "bin" / "myapp"}, VERSION=version)


def all_steps(*versions: Pins, vagrant: bool = False) -> list[Step]:
    """Every step for the given Kubernetes pins (default: the default pin), in an order that
    already respects dependencies: the shared steps once, then each version's own; with
    `vagrant`, each version's Vagrant box too (only the Vagrant lab needs it)."""
    chosen = versions or (PINS,)
    shared = shared_steps(chosen[0])
    boxes = [vagrant_box_step(pins) for pins in chosen] if vagrant else []
    return [*shared, *(step for pins in chosen for step in version_steps(pins, shared)), *boxes]


def vagrant_box_step(pins: Pins) -> Step:
    v = pins.kubernetes
    return Step(f"vagrant-box-{v}", lambda c: make_vagrant_box(c, pins),
                params=(DISK_SIZE, *vagrant_node_images(pins)),
                inputs=("svclab/images/vagrantbox.py", "svclab/images/vmdisk.py"), deps=(f"image-vm-{v}",),
                files=vagrant_files(pins))


def shared_steps(pins: Pins) -> list[Step]:
    """What every Kubernetes version's lab uses alike: Debian, kind, etcd, CoreDNS, the workloads."""
    imgs = built_images(pins)
    go = "lab/images/go"

    def gobin(ctx: Ctx, *parts: str) -> Path:
        return ctx.cache.joinpath("bin", *parts)

    def b(ctx: Ctx, name: str) -> Path:
        return ctx.cache / "bin" / name

    steps = [
        Step("base", lambda c: make_base(c, pins, imgs.base), params=(pins.debian, DEBIAN_MIRROR, "2"),
             image=imgs.base),
        Step("go-kind", lambda c: c.run(
            ["go", "install", "-trimpath", f"sigs.k8s.io/kind@{pins.kind}"], env={**GO_ENV, "GOBIN": str(gobin(c))}),
             params=(pins.kind,), files=("bin/kind",)),
        Step("go-etcd", lambda c: c.run(
            ["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(b(c, "etcd")), "go.etcd.io/etcd/server/v3"],
            cwd=c.root / go / "etcd", env=GO_ENV), inputs=(f"{go}/etcd",), files=("bin/etcd",)),
        Step("go-coredns", lambda c: c.run(
            ["go", "install", "-trimpath", "-ldflags", "-s -w", f"github.com/coredns/coredns@{pins.coredns}"],
            env={**GO_ENV, "GOBIN": str(gobin(c))}), params=(pins.coredns,), files=("bin/coredns",)),
        Step("go-metallb", lambda c: c.run(
            ["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", f"{gobin(c)}/",
             "go.universe.tf/metallb/controller", "go.universe.tf/metallb/speaker"],
            cwd=c.root / go / "metallb", env=GO_ENV), inputs=(f"{go}/metallb",),
             files=("bin/controller", "bin/speaker")),
        Step("go-labnet", lambda c: c.run(
            ["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(b(c, "labnet")), "."],
            cwd=c.root / "lab/images/labnet", env=GO_ENV),
             inputs=("lab/images/labnet/main.go", "lab/images/labnet/go.mod", "lab/images/labnet/go.sum"),
             files=("bin/labnet",)),
        Step("go-runcwrap", lambda c: c.run(
            ["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(b(c, "runcwrap")), "."],
            cwd=c.root / "lab/images/runcwrap", env=GO_ENV),
             inputs=("lab/images/runcwrap/main.go", "lab/images/runcwrap/go.mod"), files=("bin/runcwrap",)),
        Step("go-myapp", lambda c: c.run(
            ["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(b(c, "myapp")), "."],
            cwd=c.root / "lab/images/myapp", env=GO_ENV),
             inputs=("lab/images/myapp/main.go", "lab/images/myapp/go.mod"), files=("bin/myapp",)),
        Step("c-pause", lambda c: c.run(
            ["gcc", "-static", "-Os", "-s", "-o", str(b(c, "pause")), str(c.root / "lab/images/pause/pause.c")]),
             inputs=("lab/images/pause/pause.c",), files=("bin/pause",)),
    ]

    steps += [
        Step("image-etcd", lambda c: docker_build(
            c, tag("etcd", imgs.etcd_tag), "component", {"etcd": b(c, "etcd")}, BIN="etcd"),
             inputs=("lab/images/component",), deps=("go-etcd",), image=tag("etcd", imgs.etcd_tag)),
        Step("image-coredns", lambda c: docker_build(
            c, imgs.coredns, "coredns", {"coredns": b(c, "coredns")}),
             inputs=("lab/images/coredns",), deps=("go-coredns",), image=imgs.coredns),
        Step("image-pause", lambda c: docker_build(c, imgs.pause, "pause", {"pause": b(c, "pause")}),
             inputs=("lab/images/pause",), deps=("c-pause",), image=imgs.pause),
        Step("image-labnet", lambda c: docker_build(
            c, imgs.labnet, "labnet", {"labnet": b(c, "labnet")}, BASE=imgs.base),
             inputs=("lab/images/labnet/Dockerfile",), deps=("base", "go-labnet"), image=imgs.labnet),
        # the two MetalLB binaries and the two myapp versions: one build recipe each, two images
        *(Step(f"image-metallb-{binary}", _metallb_builder(image, binary), inputs=("lab/images/metallb",),
               deps=("go-metallb",), image=image)
          for binary, image in (("controller", imgs.metallb_controller), ("speaker", imgs.metallb_speaker))),
        *(Step(f"image-myapp-{version}", _myapp_builder(image, version), inputs=("lab/images/myapp/Dockerfile",),
               deps=("go-myapp",), image=image)
          for version, image in (("v1", imgs.myapp_v1), ("v2", imgs.myapp_v2))),
        Step("image-probe", lambda c: docker_build(c, imgs.probe, "probe", {}, BASE=imgs.base),
             inputs=("lab/images/probe",), deps=("base",), image=imgs.probe),
    ]
    return steps


def version_steps(pins: Pins, shared: list[Step]) -> list[Step]:
    """One Kubernetes version's binaries, component images, node image and IPVS VM: each step
    named with the version, so that every version keeps its own stamp and cache entry."""
    imgs = built_images(pins)
    k8s = pins.k8s_folder
    v = pins.kubernetes
    module = pins.k8s_module
    steps = [
        Step(f"go-kubernetes-{v}", lambda c: c.run(
            ["go", "build", "-trimpath", "-tags", "selinux,notest", "-ldflags", k8s_ldflags(v),
             "-o", f"{c.cache / k8s}/", *(f"k8s.io/kubernetes/cmd/{n}" for n in K8S_BINARIES)],
            cwd=c.root / module, env=GO_ENV),
             inputs=(module,), params=(v,), files=tuple(f"{k8s}/{n}" for n in K8S_BINARIES)),
    ]
    for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        steps.append(Step(
            f"image-{name}-{v}", _component_builder(tag(name, v), name, k8s),
            inputs=("lab/images/component",), deps=(f"go-kubernetes-{v}",), image=tag(name, v)))
    steps += [
        Step(f"image-kube-proxy-{v}", lambda c: docker_build(
            c, tag("kube-proxy", v), "kube-proxy", {"kube-proxy": c.cache / k8s / "kube-proxy"},
            BASE=imgs.base), inputs=("lab/images/kube-proxy",), deps=("base", f"go-kubernetes-{v}"),
             image=tag("kube-proxy", v)),
        Step(f"image-node-base-{v}", lambda c: docker_build(
            c, imgs.node_base, "node",
            {**{f"bin/{n}": c.cache / k8s / n for n in ("kubeadm", "kubelet", "kubectl")},
             "bin/runcwrap": c.cache / "bin" / "runcwrap"},
            BASE=imgs.base, KUBERNETES_VERSION=v),
             inputs=("lab/images/node",), deps=("base", f"go-kubernetes-{v}", "go-runcwrap"), image=imgs.node_base),
    ]
    # the node carries every component image: the shared ones and this version's own
    preloaded = [s for s in (*shared, *steps)
                 if s.name.startswith("image-") and not s.name.startswith("image-node-base")]
    steps.append(Step(
        f"image-node-{v}", lambda c: preload_node(c, imgs.node_base, imgs.node, [s.image for s in preloaded]),
        params=("preload-1", *(s.image for s in preloaded)),
        deps=(f"image-node-base-{v}", *(s.name for s in preloaded)), image=imgs.node))
    steps += [
        Step(f"image-vm-{v}", lambda c: build_vm_image(c, pins), inputs=("lab/images/vm",),
             deps=(f"image-node-{v}",), image=imgs.vm, files=(vm_key(pins),)),
        Step(f"vm-disk-{v}", lambda c: make_vm_disk(c, pins), params=(DISK_SIZE, *vm_node_images(pins)),
             inputs=("svclab/images/vmdisk.py",), deps=(f"image-vm-{v}",), files=vm_files(pins)),
    ]
    return steps
