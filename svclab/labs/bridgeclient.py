"""A client outside the cluster on a lab network Docker does not own (the Vagrant lab's libvirt
bridge): the same probe container as on the kind lab, started with no network of Docker's and
given one NIC, a veth whose host end hangs on the bridge. Docker cannot attach a container to a
bridge it did not create, hence the veth by hand.
"""

from __future__ import annotations

import hashlib
import ipaddress

from svclab.core.catalog import lab_images
from svclab.core.errors import LabError
from svclab.core.result import run
from svclab.labs.network import OutsideClient

LABEL = "svclab.client-address"


def client_address(network: str, taken: set[str], first: int = 230, last: int = 250) -> str:
    """The first free address of the network's client band (.230-.250 of a /24)."""
    net = ipaddress.ip_network(network)
    for i in range(first, last + 1):
        address = str(net.network_address + i)
        if address not in taken:
            return address
    raise LabError(f"no free client address left in {net.network_address + first}-{net.network_address + last}")


def taken_addresses(lab: str) -> set[str]:
    listed = run(["docker", "ps", "-a", "--filter", f"label=svclab.lab={lab}",
                  "--format", f'{{{{.Label "{LABEL}"}}}}'])
    return {line.strip() for line in listed.stdout.splitlines() if line.strip()}


def start_bridge_client(lab: str, name: str, bridge: str, network: str) -> OutsideClient:
    container = f"{lab}-{name}"
    run(["docker", "rm", "-f", container])
    address = client_address(network, taken_addresses(lab))
    prefix = ipaddress.ip_network(network).prefixlen
    run(["docker", "run", "-d", "--name", container, "--network", "none", "--cap-add", "NET_ADMIN",
         "--label", f"svclab.lab={lab}", "--label", f"{LABEL}={address}",
         lab_images().probe, "sleep", "infinity"]).check("docker run (outside client)")
    pid = run(["docker", "inspect", "-f", "{{.State.Pid}}", container]).check("docker inspect").stdout.strip()
    host_end = f"svc{hashlib.sha256(container.encode()).hexdigest()[:10]}"  # 13 chars: under IFNAMSIZ
    try:
        run(["ip", "link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", pid]).check(
            "ip link add (the client's veth)")
        run(["ip", "link", "set", host_end, "master", bridge, "up"]).check("ip link set master (the lab bridge)")
        inside = ["nsenter", "-t", pid, "-n", "ip"]
        run([*inside, "addr", "add", f"{address}/{prefix}", "dev", "eth0"]).check("the client's address")
        run([*inside, "link", "set", "eth0", "up"]).check("the client's NIC up")
    except Exception:
        run(["docker", "rm", "-f", container])
        raise
    return OutsideClient(container)
