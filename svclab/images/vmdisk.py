"""The IPVS VM's disk: the node image's files plus Debian's kernel, as a raw ext4 image.

The host cannot run IPVS (no ip_vs), so the lab runs one node in a qemu VM whose kernel has
it. Everything slow under emulation happens here, on the host, at build time: the root
filesystem is exported from a Docker image, the VM node's images are unpacked into its
containerd, and `mke2fs -d` writes the disk without a loop device or a mount.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from svclab.core.catalog import Pins, built_images, vm_key, vm_node_images
from svclab.images.factory import Ctx, containerd_container, docker_build

DISK_SIZE = "8G"


def build_vm_image(ctx: Ctx, pins: Pins) -> None:
    """The node image plus a kernel, sshd and udev; root logs in with a key made here."""
    (ctx.cache / pins.vm_folder).mkdir(parents=True, exist_ok=True)
    key = ctx.cache / vm_key(pins)
    if not (key.exists() and key.with_suffix(".pub").exists()):
        key.unlink(missing_ok=True)
        ctx.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "svclab-vm", "-f", str(key)])
    images = built_images(pins)
    docker_build(ctx, images.vm, "vm", {"files/root/.ssh/authorized_keys": key.with_suffix(".pub")},
                 NODE=images.node)


def make_vm_disk(ctx: Ctx, pins: Pins, folder: str = "", images: tuple[str, ...] = (),
                 extra: dict[str, str] | None = None) -> None:
    """The disk (raw ext4), kernel and initrd under `folder` (default: the IPVS VM's), with
    `images` in its containerd (default: what the IPVS VM's worker runs) and `extra` files
    (path under the root -> text)."""
    out = ctx.cache / (folder or pins.vm_folder)
    root = out / "rootfs.tmp"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    try:
        _export(ctx, built_images(pins).vm, root)
        _unpack_images(ctx, root, pins, images or vm_node_images(pins))
        for rel, text in (extra or {}).items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        (root / "etc/hostname").write_text("svclab-vm\n")
        (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n")
        (root / ".dockerenv").unlink(missing_ok=True)
        kernel = sorted((root / "boot").glob("vmlinuz-*"))
        initrd = sorted((root / "boot").glob("initrd.img-*"))
        if not kernel or not initrd:
            ctx.fail(f"no kernel or initrd under {root / 'boot'}")
        shutil.copy2(kernel[-1], out / "vmlinuz")
        shutil.copy2(initrd[-1], out / "initrd.img")
        disk = out / "disk.raw.tmp"
        disk.unlink(missing_ok=True)
        ctx.run(["mke2fs", "-q", "-t", "ext4", "-L", "svclab-vm", "-E", "root_owner=0:0",
                 "-d", str(root), str(disk), DISK_SIZE])
        disk.rename(out / "disk.raw")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _export(ctx: Ctx, image: str, root: Path) -> None:
    """The image's files, owners, modes and extended attributes, into root."""
    name = f"svclab-export-{ctx.key[:12]}"
    subprocess.call(["docker", "rm", "-f", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ctx.run(["docker", "create", "--name", name, image, "true"])
    try:
        with ctx.log.open("a") as log:
            export = subprocess.Popen(["docker", "export", name], stdout=subprocess.PIPE, stderr=log)
            rc = subprocess.call(["tar", "-x", "-p", "--numeric-owner", "--xattrs", "--xattrs-include=*",
                                  "-C", str(root)], stdin=export.stdout, stderr=log)
            assert export.stdout is not None
            export.stdout.close()
            if export.wait() or rc:
                ctx.fail(f"docker export | tar exited with {export.returncode} / {rc}")
    finally:
        subprocess.call(["docker", "rm", "-f", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _unpack_images(ctx: Ctx, root: Path, pins: Pins, wanted: tuple[str, ...]) -> None:
    """Unpack `wanted` into the VM's containerd (overlayfs snapshots), and drop the node
    image's other preloaded images (a worker never runs the control plane's)."""
    archive = ctx.cache / "vm-images.tar"
    ctx.run(["docker", "save", "-o", str(archive), *wanted])
    store = root / "var/lib/containerd"
    try:
        with containerd_container(ctx, built_images(pins).node, {str(store): "/var/lib/containerd",
                                                            str(archive): "/images.tar:ro"}) as name:
            ctr = ["docker", "exec", name, "ctr", "-n", "k8s.io"]
            listed = subprocess.run([*ctr, "images", "ls", "-q"], capture_output=True, text=True, check=False)
            unneeded = [ref for ref in listed.stdout.split() if ref not in wanted and not ref.startswith("sha256:")]
            if unneeded:
                ctx.run([*ctr, "images", "rm", "--sync", *unneeded])
            ctx.run([*ctr, "images", "import", "--digests", "/images.tar"])
            ctx.run([*ctr, "images", "ls"])
            ctx.run([*ctr, "snapshots", "ls"])
            ctx.run(["docker", "stop", "-t", "10", name])
    finally:
        archive.unlink(missing_ok=True)
