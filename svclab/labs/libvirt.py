"""The libvirt side of the Vagrant lab, read and cleaned through virsh: whether libvirtd answers,
which networks or host addresses a lab's ranges would clash with, the bridge its lab network is
on, and a sweep of everything named after the lab (what a killed `vagrant up` leaves: domains,
their volumes, networks). Only names with the lab's prefix are ever touched.
"""

from __future__ import annotations

import ipaddress
import shutil
import xml.etree.ElementTree as ET

from svclab.core.result import CommandResult, run

URI = "qemu:///system"  # qemu:///session has no private networks (vagrant-libvirt #958)
PREPARE = "run `bash lab/host/prepare.sh --vagrant`"


def virsh(*args: str, timeout: float = 60.0) -> CommandResult:
    return run(["virsh", "-c", URI, *args], where="virsh", timeout=timeout)


def problems() -> list[str]:
    """What keeps a Vagrant lab from starting on this host, as phrases."""
    out = []
    for tool in ("vagrant", "virsh", "qemu-system-x86_64", "qemu-img"):
        if not shutil.which(tool):
            out.append(f"{tool} is missing: {PREPARE}")
    if not out and not virsh("version").ok:
        out.append(f"libvirtd does not answer on {URI}: {PREPARE}")
    return out


def networks() -> dict[str, list[ipaddress.IPv4Network]]:
    """Every libvirt network -> its IPv4 subnets."""
    out: dict[str, list[ipaddress.IPv4Network]] = {}
    for name in virsh("net-list", "--all", "--name").stdout.split():
        xml = virsh("net-dumpxml", name)
        out[name] = subnets(xml.stdout) if xml.ok else []
    return out


def subnets(xml: str) -> list[ipaddress.IPv4Network]:
    found = []
    for ip in ET.fromstring(xml).iter("ip"):
        if ip.get("family", "ipv4") != "ipv4" or not ip.get("address"):
            continue
        mask = ip.get("netmask") or ip.get("prefix") or "24"
        found.append(ipaddress.IPv4Network(f"{ip.get('address')}/{mask}", strict=False))
    return found


def forwards(xml: str) -> str | None:
    """The network's forward mode (nat, route, open ...), None when it forwards nothing."""
    forward = ET.fromstring(xml).find("forward")
    return None if forward is None else forward.get("mode", "nat")


def clash(own: set[str], wanted: list[ipaddress.IPv4Network], addresses: list[tuple[str, str]]) -> str | None:
    """One sentence when a range the lab wants is taken: by a libvirt network not the lab's own
    (vagrant-libvirt would reuse it silently, NAT and all), or by an address on this host
    (interface, address) outside the lab's own bridges."""
    for name, nets in networks().items():
        if name in own:
            continue
        for net in nets:
            for want in wanted:
                if net.overlaps(want):
                    return (f"The range {want} overlaps libvirt network {name} ({net}): take that network down "
                            "or choose other ranges (svclab never reuses a network it did not make).")
    bridges = {bridge(name) for name in own if name in networks()}
    for interface, address in addresses:
        for want in wanted:
            if interface not in bridges and ipaddress.ip_address(address) in want:
                return f"The range {want} clashes with {address} on this host's {interface}: choose another range."
    return None


def host_addresses() -> list[tuple[str, str]]:
    """(interface, IPv4 address) of this host."""
    out = []
    for line in run(["ip", "-o", "-4", "addr", "show"]).stdout.splitlines():
        parts = line.split()
        if len(parts) > 3:
            out.append((parts[1], parts[3].split("/")[0]))
    return out


def bridge(network: str) -> str:
    """The host bridge a libvirt network is on ("" when the network is not there)."""
    for line in virsh("net-info", network).stdout.splitlines():
        if line.startswith("Bridge:"):
            return line.split(":", 1)[1].strip()
    return ""


def sweep(prefix: str) -> list[str]:
    """Remove every domain named `<prefix>_...` (with its volumes) and every network named
    `<prefix>-...`; return what was removed. Box volumes stay: every lab of that box shares them."""
    removed = []
    for domain in virsh("list", "--all", "--name").stdout.split():
        if domain.startswith(f"{prefix}_"):
            virsh("destroy", domain)
            virsh("undefine", domain, "--remove-all-storage", "--managed-save", "--snapshots-metadata")
            removed.append(f"domain {domain}")
    for volume in _volumes("default"):
        if volume.startswith(f"{prefix}_"):
            virsh("vol-delete", "--pool", "default", volume)
            removed.append(f"volume {volume}")
    for network in virsh("net-list", "--all", "--name").stdout.split():
        if network.startswith(f"{prefix}-"):
            virsh("net-destroy", network)
            virsh("net-undefine", network)
            removed.append(f"network {network}")
    return removed


def _volumes(pool: str) -> list[str]:
    listed = virsh("vol-list", pool)
    rows = listed.stdout.splitlines()[2:] if listed.ok else []
    return [row.split()[0] for row in rows if row.strip()]
