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

from svclab.core.result import CommandResult, run

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
