"""The kind provider: a multi-node kind cluster on a Docker network svclab owns.

kind is driven through pytest-kind's KindCluster with the kind and kubectl binaries
the image factory built, so nothing is ever downloaded. The Docker network is made
first, with IP masquerading off, so that nothing in the lab can reach past this machine.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pytest_kind import KindCluster

from svclab import hostcheck, progress, tools
from svclab.assets import render
from svclab.catalog import lab_images
from svclab.errors import HostError, LabError
from svclab.kubectl import Kubectl
from svclab.providers.addons import addons_present, install_addons
from svclab.providers.fence import Fence
from svclab.providers.vmnode import SUPPORT_MODE, VmNode
from svclab.result import CommandResult, run
from svclab.shell import DockerShell, Shell
from svclab.spec import LabSpec

NETWORK_ENV = "KIND_EXPERIMENTAL_DOCKER_NETWORK"


def kubelet_settings(spec: LabSpec, cgroup_version: int) -> dict[str, str]:
    """KubeletConfiguration fields the host needs (cgroup v1 refused from 1.35 unless told)."""
    if cgroup_version == 1 and spec.minor >= 35:
        return {"failCgroupV1": "false"}
    return {}


def kind_config(spec: LabSpec, cgroup_version: int, workers: int | None = None) -> str:
    return render("lab", "kind", "cluster.yaml.j2", spec=spec, images=lab_images(),
                  kubelet=kubelet_settings(spec, cgroup_version),
                  workers=spec.workers if workers is None else workers)


def host_problems(spec: LabSpec, facts: hostcheck.HostFacts, state: Path) -> tuple[list[str], VmNode | None]:
    """What blocks this spec on this host, and the IPVS VM node when the lab needs one
    (IPVS asked for, and this host's kernel has no ip_vs)."""
    vm = VmNode(spec, state) if spec.proxy_mode == "ipvs" and not facts.ip_vs else None
    vm_problems = None
    if vm is not None:
        vm_problems = vm.problems()
        if spec.nodes < 2:
            vm_problems.append(f"the IPVS lab needs 2 nodes or more (a kind control plane and the VM), "
                               f"and the spec asks for {spec.nodes}")
    return hostcheck.check(facts, spec.proxy_mode, "kind", vm_problems), vm


@dataclass(frozen=True)
class OutsideClient(DockerShell):
    """A client container on the lab network, outside the cluster."""

    role: str = "client"

    def stop(self) -> None:
        run(["docker", "rm", "-f", self.container])


class KindLab:
    def __init__(self, spec: LabSpec) -> None:
        self.spec = spec
        self.state = tools.state_dir(spec.name, create=False)
        self.kubeconfig = self.state / "kubeconfig"
        self.network = f"svclab-{spec.name}"
        self.reused = False
        self.owned = False  # true once this run created or reused the cluster
        self._created_network = False
        self.vm_node: VmNode | None = None

    # -- the protocol ---------------------------------------------------------------
    def preflight(self) -> None:
        facts = hostcheck.gather()
        problems, self.vm_node = host_problems(self.spec, facts, self.state)
        if problems:
            raise HostError(" ".join(problems))
        self.cgroup_version = facts.cgroup_version
        for name in ("kind", "kubectl"):
            tools.binary(name)
        if not run(["docker", "image", "inspect", self.spec.image]).ok:
            raise HostError(f"The node image {self.spec.image} is not built: {tools.BUILD_HINT}.")
        clash = self._network_clash()
        if clash:
            raise HostError(clash)

    def _network_clash(self) -> str | None:
        """Another Docker network on the lab's subnet (e.g. a kept lab of another name)."""
        names = run(["docker", "network", "ls", "--format", "{{.Name}}"]).stdout.split()
        lab_net = ipaddress.ip_network(self.spec.network)
        for name in names:
            if name == self.network:
                continue
            found = run(["docker", "network", "inspect", "-f",
                         "{{range .IPAM.Config}}{{.Subnet}} {{end}}", name])
            for subnet in found.stdout.split():
                net = ipaddress.ip_network(subnet, strict=False)
                if net.version == 4 and net.overlaps(lab_net):
                    return (f"The lab network {lab_net} overlaps Docker network {name} ({subnet}); "
                            f"if it belongs to a kept lab, delete that lab first (kind delete cluster "
                            f"--name {name.removeprefix('svclab-')}; docker network rm {name}).")
        return None

    def up(self) -> None:
        self.preflight()
        self.state.mkdir(parents=True, exist_ok=True)
        cluster = self._cluster()
        if self.spec.name in self._clusters():
            self.reused = self.owned = True
            progress.say(f"reusing kind cluster {self.spec.name!r}")
            self._kind("export", "kubeconfig", "--name", self.spec.name,
                       "--kubeconfig", str(self.kubeconfig)).check("kind export kubeconfig")
        else:
            config = self.state / "kind-config.yaml"
            workers = self.spec.workers - (1 if self.vm_node else 0)
            config.write_text(kind_config(self.spec, self.cgroup_version, workers))
            what = (f"creating kind cluster {self.spec.name!r}: {workers + 1} nodes, "
                    f"kube-proxy {self.spec.proxy_mode}")
            try:
                self._ensure_network()
                if self.vm_node:
                    self.vm_node.stop()  # a VM left by an earlier, killed run would never join
                    self.vm_node.start(self._bridge())
                with progress.step(what), self._network_env():
                    cluster.create(config_file=config)
                self.owned = True
            except BaseException as exc:
                self._fail_cleanup()
                if isinstance(exc, Exception):
                    raise LabError(f"kind could not create the lab: {exc}") from exc
                raise
        self._install_addons()

    def export_logs(self, dest: Path) -> Path | None:
        dest.mkdir(parents=True, exist_ok=True)
        result = self._kind("export", "logs", str(dest), "--name", self.spec.name, timeout=300)
        if self.vm_node:
            self.vm_node.export_logs(dest / self.vm_node.name)
        return dest if result.ok else None

    def down(self) -> None:
        if not self.owned:  # never delete a cluster this run did not create or reuse
            return
        with progress.step(f"deleting kind cluster {self.spec.name!r}"):
            try:
                if self.vm_node:
                    self.vm_node.stop()
            finally:
                if self.spec.name in self._clusters():
                    self._kind("delete", "cluster", "--name", self.spec.name,
                               "--kubeconfig", str(self.kubeconfig), timeout=300).check("kind delete")
                self._fence(False)
                run(["docker", "network", "rm", self.network])

    # -- node shells -------------------------------------------------------------------
    def node_shell(self, node: str) -> Shell:
        if self.vm_node and self.vm_node.vm and node == self.vm_node.name:
            return self.vm_node.vm
        return DockerShell(node)

    def proxy_support(self) -> dict[str, str]:
        """The nodes that run another kube-proxy mode on purpose: the kind nodes of the IPVS
        lab on a host without ip_vs (only its VM node runs IPVS)."""
        if self.vm_node is None:
            return {}
        return {name: SUPPORT_MODE for name in self._containers()}

    # -- a client outside the cluster, on the lab network ------------------------------
    def start_client(self, name: str) -> OutsideClient:
        """A probe container on the lab's Docker network, allowed to set its own routes."""
        container = f"{self.network}-{name}"
        run(["docker", "rm", "-f", container])
        run(["docker", "run", "-d", "--name", container, "--network", self.network,
             "--cap-add", "NET_ADMIN", "--label", f"svclab.lab={self.spec.name}",
             lab_images().probe, "sleep", "infinity"]).check("docker run (outside client)")
        return OutsideClient(container)

    # -- helpers -------------------------------------------------------------------
    def kubectl(self) -> Kubectl:
        return Kubectl(self.kubeconfig, tools.binary("kubectl"))

    def _cluster(self) -> KindCluster:
        return KindCluster(self.spec.name, self.kubeconfig, image=self.spec.image,
                           kind_path=tools.binary("kind"), kubectl_path=tools.binary("kubectl"))

    def _kind(self, *args: str, timeout: float = 120.0) -> CommandResult:
        return run([str(tools.binary("kind")), *args], timeout=timeout, env={NETWORK_ENV: self.network})

    def _clusters(self) -> list[str]:
        return self._kind("get", "clusters").check("kind get clusters").stdout.split()

    @contextmanager
    def _network_env(self) -> Iterator[None]:
        old = os.environ.get(NETWORK_ENV)
        os.environ[NETWORK_ENV] = self.network
        try:
            yield
        finally:
            if old is None:
                os.environ.pop(NETWORK_ENV, None)
            else:
                os.environ[NETWORK_ENV] = old

    def _ensure_network(self) -> None:
        found = run(["docker", "network", "inspect", "-f",
                     "{{range .IPAM.Config}}{{.Subnet}}{{end}}", self.network])
        if found.ok:
            if found.stdout.strip() != self.spec.network:
                raise LabError(
                    f"Docker network {self.network} exists with subnet {found.stdout.strip()}, "
                    f"not {self.spec.network}: remove it with `docker network rm {self.network}`."
                )
            self._fence(True)
            return
        run(["docker", "network", "create", "--driver", "bridge",
             "--subnet", self.spec.network, "--ip-range", self.spec.node_range,
             "-o", "com.docker.network.bridge.enable_ip_masquerade=false",
             "--label", "svclab.lab=" + self.spec.name, self.network]).check("docker network create")
        self._created_network = True
        self._fence(True)

    def fence(self) -> Fence:
        """The fence that keeps this lab's traffic on its own network."""
        return Fence(self.network, self.spec.name)

    def _fence(self, on: bool) -> None:
        self.fence().set(on)

    def _fail_cleanup(self) -> None:
        """After a failed or interrupted create: keep logs, then leave nothing behind."""
        if self.spec.name in self._clusters():
            logs = self.export_logs(self.state / "logs-failed-create")  # the VM's journals too
            if logs:
                progress.say(f"cluster logs exported to {logs}")
            self._kind("delete", "cluster", "--name", self.spec.name, timeout=300)
        if self.vm_node:
            self.vm_node.stop()
        if self._created_network:
            self._fence(False)
            run(["docker", "network", "rm", self.network])

    def _install_addons(self) -> None:
        kubectl = self.kubectl()
        if self.reused and addons_present(kubectl):
            # a kept lab is taken as it is, never repaired: if something in it broke (or a drill
            # broke it on purpose), the suites are there to say so
            progress.say("reused lab: its add-ons are taken as they are (svclab does not repair a kept lab)")
        else:
            with progress.step("installing lab add-ons (labnet, CoreDNS) and waiting for Ready nodes"):
                install_addons(kubectl, self.spec, split=self.vm_node is not None)
        self._vm_node_up(kubectl)

    def _vm_node_up(self, kubectl: Kubectl) -> None:
        if self.vm_node:
            if self.vm_node.joined(kubectl):
                self.vm_node.reattach(self._bridge())
            else:
                self.vm_node.start(self._bridge())
                self.vm_node.join(kubectl, f"{self.spec.name}-control-plane", self._container_ips())
            self.vm_node.wait_kube_proxy(kubectl)

    def _bridge(self) -> str:
        found = run(["docker", "network", "inspect", "-f", "{{.Id}}", self.network]).check("docker network inspect")
        return f"br-{found.stdout.strip()[:12]}"

    def _containers(self) -> list[str]:
        found = run(["docker", "ps", "-a", "--filter", f"label=io.x-k8s.kind.cluster={self.spec.name}",
                     "--format", "{{.Names}}"])
        return sorted(found.stdout.split())

    def _container_ips(self) -> dict[str, str]:
        """kind node name -> its address on the lab network."""
        fmt = "{{range .Containers}}{{.Name}} {{.IPv4Address}}\n{{end}}"
        found = run(["docker", "network", "inspect", "-f", fmt, self.network]).check("docker network inspect")
        pairs = (line.split() for line in found.stdout.splitlines() if line.strip())
        names = set(self._containers())
        return {name: cidr.split("/")[0] for name, cidr in pairs if name in names}
