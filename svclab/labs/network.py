"""The lab's own Docker network: made by svclab with IP masquerading off and fenced, so that
nothing in the lab can reach past this machine; clients outside the cluster live on it."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from svclab.core.catalog import lab_images
from svclab.core.errors import LabError
from svclab.core.result import run
from svclab.core.shell import DockerShell
from svclab.core.spec import LabSpec
from svclab.labs.fence import Fence


@dataclass(frozen=True)
class OutsideClient(DockerShell):
    """A client container on the lab network, outside the cluster."""

    role: str = "client"

    def stop(self) -> None:
        run(["docker", "rm", "-f", self.container])


class LabNetwork:
    def __init__(self, spec: LabSpec) -> None:
        self.spec = spec
        self.name = f"svclab-{spec.name}"
        self.created = False  # by this run: only then does a failed create remove it

    def fence(self) -> Fence:
        """The fence that keeps this lab's traffic on its own network."""
        return Fence(self.name, self.spec.name)

    def clash(self) -> str | None:
        """Another Docker network on the lab's subnet (e.g. a kept lab of another name)."""
        names = run(["docker", "network", "ls", "--format", "{{.Name}}"]).stdout.split()
        lab_net = ipaddress.ip_network(self.spec.network)
        for name in names:
            if name == self.name:
                continue
            found = run(["docker", "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", name])
            for subnet in found.stdout.split():
                net = ipaddress.ip_network(subnet, strict=False)
                if net.version == 4 and net.overlaps(lab_net):
                    return (f"The lab network {lab_net} overlaps Docker network {name} ({subnet}); "
                            f"if it belongs to a kept lab, take that lab down first "
                            f"(svclab down {name.removeprefix('svclab-')}).")
        return None

    def ensure(self) -> None:
        """The network exists with the spec's subnet, and is fenced."""
        found = run(["docker", "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", self.name])
        if found.ok and found.stdout.strip() != self.spec.network:
            raise LabError(f"Docker network {self.name} exists with subnet {found.stdout.strip()}, "
                           f"not {self.spec.network}: remove it with `docker network rm {self.name}`.")
        if not found.ok:
            run(["docker", "network", "create", "--driver", "bridge",
                 "--subnet", self.spec.network, "--ip-range", self.spec.node_range,
                 "-o", "com.docker.network.bridge.enable_ip_masquerade=false",
                 "--label", "svclab.lab=" + self.spec.name, self.name]).check("docker network create")
            self.created = True
        self.fence().set(True)

    def remove(self) -> None:
        self.fence().set(False)
        run(["docker", "network", "rm", self.name])

    def bridge(self) -> str:
        found = run(["docker", "network", "inspect", "-f", "{{.Id}}", self.name]).check("docker network inspect")
        return f"br-{found.stdout.strip()[:12]}"

    def addresses(self, containers: set[str]) -> dict[str, str]:
        """Container name -> its address on the lab network, for the containers named."""
        fmt = "{{range .Containers}}{{.Name}} {{.IPv4Address}}\n{{end}}"
        found = run(["docker", "network", "inspect", "-f", fmt, self.name]).check("docker network inspect")
        pairs = (line.split() for line in found.stdout.splitlines() if line.strip())
        return {name: cidr.split("/")[0] for name, cidr in pairs if name in containers}

    def start_client(self, name: str) -> OutsideClient:
        """A probe container on the lab network, allowed to set its own routes."""
        container = f"{self.name}-{name}"
        run(["docker", "rm", "-f", container])
        run(["docker", "run", "-d", "--name", container, "--network", self.name,
             "--cap-add", "NET_ADMIN", "--label", f"svclab.lab={self.spec.name}",
             lab_images().probe, "sleep", "infinity"]).check("docker run (outside client)")
        return OutsideClient(container)
