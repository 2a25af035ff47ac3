"""The Vagrant lab's box: the IPVS VM's disk with the control plane's images too, as a libvirt box.

One box serves the master and the workers (the seeds' lab: kubeadm on three machines). It is
the IPVS VM's root filesystem plus a DHCP rule for vagrant-libvirt's management NIC (Vagrant
finds a machine by its DHCP lease; the rule takes neither routes nor DNS from it), written as a
raw ext4 filesystem and converted to qcow2. Like the IPVS VM it has no boot loader: the
Vagrantfile boots the kernel and initrd kept next to the box.
A libvirt box is a tar of box.img (qcow2), metadata.json and a Vagrantfile (vagrant-libvirt's
docs/boxes.markdown); Vagrant unpacks it with bsdtar, which reads an uncompressed tar too, so
the box is not gzipped (seconds saved on 2 cores, space is not short here).
"""

from __future__ import annotations

import json
import math
import tarfile

from svclab.core.catalog import Pins, vagrant_files, vagrant_node_images
from svclab.images.factory import Ctx
from svclab.images.vmdisk import DISK_SIZE, make_vm_disk

# vagrant-libvirt's management network: DHCP, but no default route and no resolver from it
# (the lab reaches nothing beyond this machine); sorted after the IPVS VM's fixed-MAC rule.
# The client identifier is the MAC: networkd's default (a DUID from the machine-id) was the
# same on the three machines of one box, and dnsmasq gave all three one lease (measured: the
# first vagrant up had k8s-master and k8s-node02 both at 192.168.124.40, node01 never got one)
MANAGEMENT_DHCP = """[Match]
Name=en* eth*

[Network]
DHCP=ipv4
LinkLocalAddressing=no
IPv6AcceptRA=no

[DHCPv4]
ClientIdentifier=mac
UseDNS=no
UseRoutes=no
UseNTP=no
"""
BOX_VAGRANTFILE = """# svclab's node box: the provider settings live in svclab's own Vagrantfile
Vagrant.configure("2") do |config|
end
"""


def box_metadata(disk_size: str = DISK_SIZE) -> dict[str, object]:
    """vagrant-libvirt wants the virtual size in whole GB (fog-libvirt rounds badly otherwise)."""
    units = {"G": 1, "M": 1 / 1024}
    size = math.ceil(float(disk_size[:-1]) * units[disk_size[-1]])
    return {"provider": "libvirt", "format": "qcow2", "virtual_size": size}


def make_vagrant_box(ctx: Ctx, pins: Pins) -> None:
    box, kernel, initrd = (ctx.cache / f for f in vagrant_files(pins))
    out = ctx.cache / pins.vagrant_folder
    make_vm_disk(ctx, pins, pins.vagrant_folder, vagrant_node_images(pins),
                 {"etc/systemd/network/99-svclab-management.network": MANAGEMENT_DHCP})
    raw, image = out / "disk.raw", out / "box.img"
    try:
        ctx.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(image)])
        (out / "metadata.json").write_text(json.dumps(box_metadata()))
        (out / "Vagrantfile").write_text(BOX_VAGRANTFILE)
        partial = box.with_suffix(".box.tmp")
        with tarfile.open(partial, "w") as tar:
            for name in ("metadata.json", "Vagrantfile", "box.img"):
                tar.add(out / name, arcname=name)
        partial.rename(box)
    finally:
        for name in ("disk.raw", "box.img", "metadata.json", "Vagrantfile"):
            (out / name).unlink(missing_ok=True)
    for path in (kernel, initrd):  # make_vm_disk left them in the folder already
        if not path.exists():
            ctx.fail(f"{path} is missing after the box's disk was made")
