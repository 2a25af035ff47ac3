"""The kind provider: a multi-node kind cluster on a Docker network svclab owns.

kind is driven through pytest-kind's KindCluster with the kind and kubectl binaries
the image factory built (kindcli.py), so nothing is ever downloaded. The Docker network is
made first, with IP masquerading off and fenced (network.py), so that nothing in the lab can
reach past this machine.
"""

from __future__ import annotations

from pathlib import Path

from svclab.core import progress, tools
from svclab.core.assets import render
from svclab.core.catalog import lab_images, pins_for
from svclab.core.errors import HostError, LabError
from svclab.core.kubectl import Kubectl
from svclab.core.result import run
from svclab.core.shell import DockerShell, Shell
from svclab.core.spec import LabSpec
from svclab.labs import hostcheck
from svclab.labs.addons import addons_present, install_addons
from svclab.labs.fence import Fence
from svclab.labs.kindcli import KindCli
from svclab.labs.network import LabNetwork, OutsideClient
from svclab.labs.vmnode import SUPPORT_MODE, VmNode


def kubelet_settings(spec: LabSpec, cgroup_version: int) -> dict[str, str]:
    """KubeletConfiguration fields the host needs (cgroup v1 refused from 1.35 unless told)."""
    if cgroup_version == 1 and spec.minor >= 35:
        return {"failCgroupV1": "false"}
    return {}


def kind_config(spec: LabSpec, cgroup_version: int, workers: int | None = None) -> str:
    return render("lab", "kind", "cluster.yaml.j2", spec=spec, images=lab_images(pins_for(spec.kubernetes_version)),
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


CONTROL_PLANE_TAINT = "node-role.kubernetes.io/control-plane:NoSchedule"


class KindLab:
    builds_cluster = True

    def __init__(self, spec: LabSpec) -> None:
        self.spec = spec
        self.state = tools.state_dir(spec.name, create=False)
        self.kubeconfig = self.state / "kubeconfig"
        self.net = LabNetwork(spec)
        self.network = self.net.name
        self.kind = KindCli(spec.name, self.net.name, self.kubeconfig, spec.kubernetes_version)
        self.reused = False
        self.owned = False  # true once this run created or reused the cluster
        self.vm_node: VmNode | None = None

    # -- the protocol ---------------------------------------------------------------
    def preflight(self) -> None:
        facts = hostcheck.gather()
        problems, self.vm_node = host_problems(self.spec, facts, self.state)
        if problems:
            raise HostError(" ".join(problems))
        self.cgroup_version = facts.cgroup_version
        for name in ("kind", "kubectl"):
            tools.binary(name, self.spec.kubernetes_version)
        if not run(["docker", "image", "inspect", self.spec.image]).ok:
            raise HostError(f"The node image {self.spec.image} is not built: {tools.BUILD_HINT}.")
        clash = self.net.clash()
        if clash:
            raise HostError(clash)

    def up(self) -> None:
        self.preflight()
        self.state.mkdir(parents=True, exist_ok=True)
        if self.kind.exists():
            found = self.kind.node_image()
            if found != self.spec.image:  # a kept lab of another version (or node image) is never reused
                raise LabError(f"The kept lab {self.spec.name!r} runs {found or 'an unknown node image'}, not "
                               f"{self.spec.image} as asked: take it down first (svclab down {self.spec.name}) "
                               "or name another lab (--lab kind:NAME).")
            self.reused = self.owned = True
            progress.say(f"reusing kind cluster {self.spec.name!r}")
            self.kind.export_kubeconfig()
        else:
            config = self.state / "kind-config.yaml"
            workers = self.spec.workers - (1 if self.vm_node else 0)
            config.write_text(kind_config(self.spec, self.cgroup_version, workers))
            what = (f"creating kind cluster {self.spec.name!r}: {workers + 1} nodes, "
                    f"kube-proxy {self.spec.proxy_mode}")
            try:
                self.net.ensure()
                if self.vm_node:
                    self.vm_node.stop()  # a VM left by an earlier, killed run would never join
                    self.vm_node.start(self.net.bridge())
                with progress.step(what):
                    self.kind.create(config, self.spec.image)
                self.owned = True
            except BaseException as exc:
                self._fail_cleanup()
                if isinstance(exc, Exception):
                    raise LabError(f"kind could not create the lab: {exc}") from exc
                raise
        self._addons_and_vm_node()

    def export_logs(self, dest: Path) -> Path | None:
        dest.mkdir(parents=True, exist_ok=True)
        exported = self.kind.export_logs(dest)
        if self.vm_node:
            self.vm_node.export_logs(dest / self.vm_node.name)
        return dest if exported else None

    def down(self) -> None:
        if not self.owned:  # never delete a cluster this run did not create or reuse
            return
        with progress.step(f"deleting kind cluster {self.spec.name!r}"):
            try:
                if self.vm_node:
                    self.vm_node.stop()
            finally:
                if self.kind.exists():
                    self.kind.delete().check("kind delete")
                self.net.remove()

    # -- abilities beyond the protocol ----------------------------------------------
    def node_shell(self, node: str) -> Shell:
        if self.vm_node and self.vm_node.vm and node == self.vm_node.name:
            return self.vm_node.vm.ssh
        return DockerShell(node)

    def proxy_support(self) -> dict[str, str]:
        """The nodes that run another kube-proxy mode on purpose: the kind nodes of the IPVS
        lab on a host without ip_vs (only its VM node runs IPVS)."""
        if self.vm_node is None:
            return {}
        return {name: SUPPORT_MODE for name in self.kind.containers()}

    def start_client(self, name: str) -> OutsideClient:
        """A client outside the cluster, on the lab network."""
        return self.net.start_client(name)

    def fence(self) -> Fence:
        return self.net.fence()

    def kubectl(self) -> Kubectl:
        return Kubectl(self.kubeconfig, tools.binary("kubectl", self.spec.kubernetes_version))

    # -- helpers -------------------------------------------------------------------
    def _fail_cleanup(self) -> None:
        """After a failed or interrupted create: keep logs, then leave nothing behind."""
        if self.kind.exists():
            logs = self.export_logs(self.state / "logs-failed-create")  # the VM's journals too
            if logs:
                progress.say(f"cluster logs exported to {logs}")
            self.kind.delete()
        if self.vm_node:
            self.vm_node.stop()
        if self.net.created:
            self.net.remove()

    def _addons_and_vm_node(self) -> None:
        kubectl = self.kubectl()
        if self.reused and addons_present(kubectl):
            # a kept lab is taken as it is, never repaired: if something in it broke (or a drill
            # broke it on purpose), the suites are there to say so
            progress.say("reused lab: its add-ons are taken as they are (svclab does not repair a kept lab)")
        else:
            with progress.step("installing lab add-ons (labnet, CoreDNS) and waiting for Ready nodes"):
                install_addons(kubectl, self.spec, split=self.vm_node is not None)
        if self.vm_node:
            # the VM is tainted PreferNoSchedule (vmnode.join_config): the control plane takes
            # workloads too, so that myapp still spreads over two nodes ("not found" once removed)
            kubectl.run("taint", "nodes", f"{self.spec.name}-control-plane", f"{CONTROL_PLANE_TAINT}-")
            if self.vm_node.joined(kubectl):
                self.vm_node.reattach(self.net.bridge())
            else:
                self.vm_node.start(self.net.bridge())
                addresses = self.net.addresses(set(self.kind.containers()))
                self.vm_node.join(kubectl, f"{self.spec.name}-control-plane", addresses)
            self.vm_node.wait_kube_proxy(kubectl)
