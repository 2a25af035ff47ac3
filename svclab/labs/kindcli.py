"""kind itself, for one cluster on one Docker network: create (through pytest-kind's
KindCluster, with the kind and kubectl binaries the image factory built), list, export,
delete. KIND_EXPERIMENTAL_DOCKER_NETWORK puts the nodes on svclab's own network."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pytest_kind import KindCluster

from svclab.core import tools
from svclab.core.catalog import PINS
from svclab.core.result import CommandResult, run

NETWORK_ENV = "KIND_EXPERIMENTAL_DOCKER_NETWORK"


@dataclass(frozen=True)
class KindCli:
    name: str  # the cluster
    network: str  # the Docker network its nodes join
    kubeconfig: Path
    kubernetes: str = PINS.kubernetes  # the lab's version: its kubectl is the one that speaks to it

    def run(self, *args: str, timeout: float = 120.0) -> CommandResult:
        return run([str(tools.binary("kind")), *args], timeout=timeout, env={NETWORK_ENV: self.network})

    def exists(self) -> bool:
        return self.name in self.run("get", "clusters").check("kind get clusters").stdout.split()

    def create(self, config: Path, image: str) -> None:
        cluster = KindCluster(self.name, self.kubeconfig, image=image,
                              kind_path=tools.binary("kind"), kubectl_path=tools.binary("kubectl", self.kubernetes))
        with self._network_env():
            cluster.create(config_file=config)

    def export_kubeconfig(self) -> None:
        self.run("export", "kubeconfig", "--name", self.name,
                 "--kubeconfig", str(self.kubeconfig)).check("kind export kubeconfig")

    def export_logs(self, dest: Path) -> bool:
        return self.run("export", "logs", str(dest), "--name", self.name, timeout=300).ok

    def delete(self) -> CommandResult:
        return self.run("delete", "cluster", "--name", self.name, "--kubeconfig", str(self.kubeconfig), timeout=300)

    def node_image(self) -> str:
        """The image the cluster's control-plane node was made from ("" when it has none)."""
        found = run(["docker", "inspect", "--format", "{{.Config.Image}}", f"{self.name}-control-plane"])
        return found.stdout.strip() if found.ok else ""

    def containers(self) -> list[str]:
        found = run(["docker", "ps", "-a", "--filter", f"label=io.x-k8s.kind.cluster={self.name}",
                     "--format", "{{.Names}}"])
        return sorted(found.stdout.split())

    @contextmanager
    def _network_env(self) -> Iterator[None]:
        # KindCluster runs kind in this process's environment: set the variable for its call only
        old = os.environ.get(NETWORK_ENV)
        os.environ[NETWORK_ENV] = self.network
        try:
            yield
        finally:
            if old is None:
                os.environ.pop(NETWORK_ENV, None)
            else:
                os.environ[NETWORK_ENV] = old
