"""The fence around a lab's Docker network: the host drops whatever the lab's bridge would
forward off that network (masquerading is off too, so nothing would be rewritten either).

The fence is proven the only way that counts: a connection from the lab towards an address
off its network is dropped, and the fence rule's own packet counter shows that it was the one
that dropped it. The target is a container svclab starts for that on this machine's Docker
default bridge, so nothing is ever sent to an address the lab does not own.
"""

from __future__ import annotations

from dataclasses import dataclass

from svclab.core.result import CommandResult, run
from svclab.core.shell import Shell

CHAIN = "DOCKER-USER"


@dataclass(frozen=True)
class Fence:
    network: str  # the Docker network's name
    lab: str  # the lab's name, in the rule's comment

    def rule(self) -> list[str] | None:
        found = run(["docker", "network", "inspect", "-f", "{{.Id}}", self.network])
        if not found.ok:
            return None
        bridge = f"br-{found.stdout.strip()[:12]}"
        return [CHAIN, "-i", bridge, "!", "-o", bridge, "-m", "comment", "--comment", f"svclab:{self.lab}",
                "-j", "DROP"]

    def set(self, on: bool) -> None:
        rule = self.rule()
        if rule is None:
            return
        present = run(["iptables", "-C", *rule]).ok
        if on and not present:
            run(["iptables", "-I", *rule]).check("iptables: fencing the lab network off from the outside")
        elif not on and present:
            run(["iptables", "-D", *rule])

    def counter(self) -> tuple[int, CommandResult]:
        """Packets the fence rule has dropped so far (-1 when the rule is not there)."""
        listed = run(["iptables", "-L", CHAIN, "-v", "-x", "-n"])
        for line in listed.stdout.splitlines():
            if f"svclab:{self.lab} " in line + " " and "DROP" in line:
                return int(line.split()[0]), listed
        return -1, listed

    def probe(self, client: Shell, image: str) -> tuple[int, int, CommandResult, CommandResult]:
        """Send one bounded connection from the lab towards svclab's own target container off the
        lab network. Returns the drop counter before and after, curl's result and the listing."""
        target = f"svclab-{self.lab}-fence-target"
        run(["docker", "rm", "-f", target])
        try:
            run(["docker", "run", "-d", "--name", target, "--network", "bridge", "--label", f"svclab.lab={self.lab}",
                 image, "sleep", "300"]).check("docker run (the fence's target)")
            address = run(["docker", "inspect", "-f", "{{.NetworkSettings.Networks.bridge.IPAddress}}", target]
                          ).check("docker inspect").stdout.strip()
            before, _ = self.counter()
            curl = ["curl", "-s", "--max-time", "2", "-o", "/dev/null", f"http://{address}:80/"]
            tried = client.run(curl, timeout=30)
            after, listing = self.counter()
            return before, after, tried, listing
        finally:
            run(["docker", "rm", "-f", target])


