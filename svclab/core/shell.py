"""One way to run a command wherever svclab goes: a kind node or a client container (docker
exec), the IPVS VM (ssh, svclab/core/ssh.py), a pod (kubectl exec), this machine.

Every shell returns a CommandResult (argv, exit code, output, the command that reproduces it)
and names its host the way testinfra names its backends (`docker://node`,
`kubectl://pod?namespace=ns`, `paramiko://vm?ssh_config=...`), so that node facts can be read
with testinfra's modules on the very host a check ran its commands on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from svclab.core.result import CommandError, CommandResult, run

if TYPE_CHECKING:
    from svclab.core.kubectl import Kubectl


@runtime_checkable
class Shell(Protocol):
    """Runs argv (never a shell string) on one host."""

    @property
    def host(self) -> str: ...

    def run(self, argv: Sequence[str], *, timeout: float = 60.0, stdin: str | None = None) -> CommandResult: ...


@dataclass(frozen=True)
class LocalShell:
    """This machine."""

    @property
    def host(self) -> str:
        return "local://"

    def run(self, argv: Sequence[str], *, timeout: float = 60.0, stdin: str | None = None) -> CommandResult:
        return run(argv, timeout=timeout, stdin=stdin)


@dataclass(frozen=True)
class DockerShell:
    """A container on this machine: a kind node ("node/...") or a client on the lab network."""

    container: str
    role: str = "node"

    @property
    def host(self) -> str:
        return f"docker://{self.container}"

    def run(self, argv: Sequence[str], *, timeout: float = 60.0, stdin: str | None = None) -> CommandResult:
        interactive = ["-i"] if stdin is not None else []
        return run(["docker", "exec", *interactive, self.container, *argv], where=f"{self.role}/{self.container}",
                   timeout=timeout, stdin=stdin)


@dataclass(frozen=True)
class PodShell:
    """A running pod's first container, through `kubectl exec`."""

    kubectl: Kubectl
    namespace: str
    pod: str

    @property
    def host(self) -> str:
        return f"kubectl://{self.pod}?namespace={self.namespace}"

    def run(self, argv: Sequence[str], *, timeout: float = 60.0, stdin: str | None = None) -> CommandResult:
        interactive = ["-i"] if stdin is not None else []
        return self.kubectl.run("exec", *interactive, "-n", self.namespace, self.pod, "--", *argv, stdin=stdin,
                                timeout=timeout, where=f"pod/{self.namespace}/{self.pod}")


@dataclass(frozen=True)
class EnteredShell:
    """A pod's container on a node reached over SSH, entered with nsenter through that node's
    open session: the pod's network, mount (its binaries), UTS and IPC namespaces, as with
    `kubectl exec`; not its PID namespace or cgroup, which a probe's curl and dig do not see
    (a drill's process search on the node finds it either way). Why not kubectl exec: on
    the IPVS VM under qemu's software emulation an exec costs 0.9-1.8 s (API server, kubelet and
    containerd's exec shim, all emulated), nsenter over the open session 0.25 s (both measured on
    the live lab), and a suite runs hundreds of probe commands there."""

    node: Shell
    pid: int  # the container's main process on the node
    pod: str

    @property
    def host(self) -> str:
        return f"{self.node.host}#{self.pod}"

    def run(self, argv: Sequence[str], *, timeout: float = 60.0, stdin: str | None = None) -> CommandResult:
        done = self.node.run(["nsenter", "-t", str(self.pid), "-m", "-n", "-u", "-i", "-r", "-w", "--", *argv],
                             timeout=timeout, stdin=stdin)
        if done.stderr.startswith("nsenter:"):  # the container is gone or restarted: never read as curl's exit
            raise CommandError(f"entering pod {self.pod} (PID {self.pid}) on {self.node.host} failed", done)
        return done


def enter(node: Shell, pod: str, container_id: str) -> EnteredShell:
    """Pod `pod`'s running container `container_id` (containerd://...) on `node`, entered. Its
    PID comes from containerd's task list (the node image carries ctr, not crictl)."""
    listing = node.run(["ctr", "-n", "k8s.io", "task", "ls"])
    wanted = container_id.split("://")[-1]
    for line in listing.stdout.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 3 and fields[0] == wanted and fields[2] == "RUNNING" and fields[1].isdigit():
            return EnteredShell(node, int(fields[1]), pod)
    raise CommandError(f"pod {pod}'s container {wanted[:13]} is not a running task on {node.host}", listing)
