"""The Vagrant provider: the seeds' lab of three machines (kubeadm, kube-proxy in the asked mode
on every node), made by `vagrant up` from svclab's Vagrantfile with vagrant-libvirt.

`--lab vagrant` uses the Vagrantfile svclab ships; `--lab vagrant:DIR` one in DIR (a copy of
it, changed). The lab's settings go to the Vagrantfile as JSON; its machine data stays in the
lab's state folder. Machines are reached over SSH (paramiko, and testinfra from the same
ssh_config), the kubeconfig is read from the master, and a failed or interrupted `up` leaves
nothing: Vagrant destroys what it was making, then svclab sweeps whatever has the lab's name.
"""

from __future__ import annotations

import ipaddress
import secrets
import shutil
from pathlib import Path

from svclab.core import progress, tools
from svclab.core.assets import asset
from svclab.core.catalog import built_images, pins_for, vagrant_box, vagrant_files, vm_key
from svclab.core.errors import HostError, LabError
from svclab.core.kubectl import Kubectl
from svclab.core.shell import Shell
from svclab.core.spec import LabSpec
from svclab.core.ssh import SshShell
from svclab.labs import libvirt
from svclab.labs.addons import addons_manifest, addons_present, install_addons
from svclab.labs.bridgeclient import start_bridge_client
from svclab.labs.network import OutsideClient
from svclab.labs.vagrantcli import VagrantCli, up_failures

BOOT = Path("/var/lib/libvirt/boot")  # libvirt's qemu user must reach the kernel: not under /root
MANAGEMENT = "192.168.124.0/24"
READY_TIMEOUT = 1200  # s: nodes and CoreDNS, every node under emulation on svclab's own machines


def machine_names(nodes: int) -> list[str]:
    """The seeds' names: k8s-master, k8s-node01, k8s-node02 ..."""
    return ["k8s-master", *(f"k8s-node{i:02d}" for i in range(1, nodes))]


def machine_addresses(spec: LabSpec) -> list[tuple[str, str]]:
    """Each machine and its lab address: the seeds' .110, .111 ... of the lab network."""
    net = ipaddress.ip_network(spec.network)
    return [(name, str(net.network_address + 110 + i)) for i, name in enumerate(machine_names(spec.nodes))]


def vagrant_settings(spec: LabSpec, state: Path, token: str) -> dict[str, object]:
    """What the Vagrantfile reads (its DEFAULTS are the seeds' lab on the default version)."""
    pins = pins_for(spec.kubernetes_version)
    images = built_images(pins)
    return {
        "name": spec.name, "box": vagrant_box(pins), "box_family": "svclab",
        "boot": str(BOOT / f"svclab-{pins.kubernetes}"), "machines": machine_addresses(spec),
        "lab_network": spec.network, "management_network": MANAGEMENT,
        "key": str(tools.cache_dir() / vm_key(pins)), "kubernetes_version": pins.kubernetes,
        "proxy_mode": spec.proxy_mode, "ipvs_scheduler": spec.ipvs_scheduler,
        "pod_subnet": spec.pod_subnet, "service_subnet": spec.service_subnet,
        "image_repository": images.repository, "etcd_tag": images.etcd_tag,
        "addons": str(state / "addons.yaml"), "token": token,
    }


class VagrantLab:
    builds_cluster = True

    def __init__(self, spec: LabSpec) -> None:
        self.spec = spec
        self.pins = pins_for(spec.kubernetes_version)
        self.state = tools.state_dir(spec.name, create=False)
        self.kubeconfig = self.state / "kubeconfig"
        self.folder = Path(spec.target).expanduser() if spec.target else asset("Vagrantfile").parent
        self.cli = VagrantCli(self.folder, self.state)
        self.reused = False
        self.owned = False
        self.addresses: dict[str, str] = {}  # machine -> its management address (SSH)
        self.shells: dict[str, SshShell] = {}

    # -- the protocol ---------------------------------------------------------------
    def preflight(self) -> None:
        problems = libvirt.problems()
        if not (self.folder / "Vagrantfile").is_file():
            problems.append(f"there is no Vagrantfile in {self.folder}")
        missing = [f for f in (*vagrant_files(self.pins), vm_key(self.pins)) if not (tools.cache_dir() / f).exists()]
        if missing:
            problems.append(f"the Vagrant box for Kubernetes {self.pins.kubernetes} is not built "
                            f"({tools.cache_dir() / missing[0]} is missing): run `python -m svclab.images "
                            f"--vagrant-box --k8s-version {self.pins.minor}`")
        if not problems and "vagrant-libvirt" not in self.cli.plugins().stdout:
            problems.append(f"Vagrant has no vagrant-libvirt plugin: {libvirt.PREPARE}")
        if not problems:
            own = {f"{self.spec.name}-lab", f"{self.spec.name}-mgmt"}
            wanted = [ipaddress.IPv4Network(self.spec.network), ipaddress.IPv4Network(MANAGEMENT)]
            found = libvirt.clash(own, wanted, libvirt.host_addresses())
            if found:
                problems.append(found)
        if problems:
            raise HostError("The Vagrant lab cannot start: " + "; ".join(problems) + ".")

    def up(self) -> None:
        self.preflight()
        self.state.mkdir(parents=True, exist_ok=True)
        if not (self.state / "settings.json").exists():  # the Vagrantfile reads it for any command
            self._write_settings()
        states = self.cli.status()
        names = machine_names(self.spec.nodes)
        if states and all(states.get(n) == "running" for n in names) and self.kubeconfig.exists():
            self.reused = self.owned = True
            progress.say(f"reusing the Vagrant lab {self.spec.name!r} ({', '.join(names)})")
            self._connect()
        else:
            self._create()
        self._addons()

    def export_logs(self, dest: Path) -> Path | None:
        dest.mkdir(parents=True, exist_ok=True)
        for log in self.state.glob("*.log"):
            shutil.copy2(log, dest / log.name)
        for name in machine_names(self.spec.nodes):
            console = Path(f"/var/log/libvirt/qemu/{self.spec.name}_{name}-console.log")
            if console.exists():
                shutil.copy2(console, dest / f"{name}-console.log")
            if name in self.addresses:
                for unit in ("kubelet", "containerd"):
                    found = self.node_shell(name).run(["journalctl", "-u", unit, "--no-pager"], timeout=120)
                    (dest / f"{name}-{unit}.log").write_text(found.stdout + found.stderr)
        return dest

    def down(self) -> None:
        if not self.owned:
            return
        with progress.step(f"destroying the Vagrant lab {self.spec.name!r}"):
            self._remove()

    # -- abilities beyond the protocol ----------------------------------------------
    def node_shell(self, node: str) -> Shell:
        """One SSH session per machine, kept open (a new one costs a key exchange under emulation)."""
        if node not in self.shells:
            self.shells[node] = SshShell(node, 22, tools.cache_dir() / vm_key(self.pins),
                                         self.state / "ssh" / f"{node}.config", address=self.addresses[node])
        return self.shells[node]

    def start_client(self, name: str) -> OutsideClient:
        bridge = libvirt.bridge(f"{self.spec.name}-lab")
        if not bridge:
            raise LabError(f"the lab network {self.spec.name}-lab has no bridge (is the lab up?)")
        return start_bridge_client(self.spec.name, name, bridge, self.spec.network)

    def kubectl(self) -> Kubectl:
        return Kubectl(self.kubeconfig, tools.binary("kubectl", self.spec.kubernetes_version))

    # -- helpers -------------------------------------------------------------------
    def _create(self) -> None:
        self._boot_files()
        self._box()
        self._write_settings()
        log = self.state / "vagrant-up.log"
        what = (f"vagrant up: {self.spec.nodes} machines, kubeadm, kube-proxy {self.spec.proxy_mode} "
                f"(log: {log})")
        try:
            with progress.step(what):
                rc = self.cli.up(log)
            self.owned = True
            if rc != 0:
                said = up_failures(log.read_text(errors="replace"))
                raise LabError(f"vagrant up exited with {rc}" + (": " + "; ".join(said) if said else "")
                               + f" (its log: {log})")
            self._connect()
        except BaseException:
            self.owned = True
            kept = self.export_logs(self.state / "logs-failed-create")
            progress.say(f"lab logs exported to {kept}")
            self._remove()
            raise

    def _write_settings(self) -> None:
        """The Vagrantfile's settings, with a new bootstrap token, and the add-ons the master applies."""
        self.cli.settings = vagrant_settings(self.spec, self.state, secrets.token_hex(3) + "." + secrets.token_hex(8))
        (self.state / "addons.yaml").write_text(addons_manifest(self.spec))
        self.cli.write_settings()

    def _connect(self) -> None:
        self.addresses = self.cli.ssh_config()
        master = self.node_shell("k8s-master")
        text = master.run(["cat", "/etc/kubernetes/admin.conf"]).check("reading the master's kubeconfig").stdout
        self.kubeconfig.write_text(text)
        self.kubeconfig.chmod(0o600)

    def _addons(self) -> None:
        kubectl = self.kubectl()
        if self.reused and addons_present(kubectl):
            progress.say("reused lab: its add-ons are taken as they are (svclab does not repair a kept lab)")
            return
        with progress.step("installing lab add-ons (labnet, CoreDNS) and waiting for Ready nodes"):
            install_addons(kubectl, self.spec, split=False, timeout=READY_TIMEOUT)

    def _boot_files(self) -> None:
        """svclab's box has no boot loader: its kernel and initrd go where libvirt's qemu reads them."""
        target = BOOT / f"svclab-{self.pins.kubernetes}"
        target.mkdir(parents=True, exist_ok=True)
        for rel in vagrant_files(self.pins)[1:]:
            source = tools.cache_dir() / rel
            dest = target / source.name
            if not dest.exists() or dest.stat().st_size != source.stat().st_size:
                shutil.copy2(source, dest)

    def _box(self) -> None:
        """Add the box when Vagrant lacks it or it was rebuilt since it was added."""
        name, box = vagrant_box(self.pins), tools.cache_dir() / vagrant_files(self.pins)[0]
        stamp = box.with_suffix(".added")
        current = str(box.stat().st_mtime_ns)
        if name in self.cli.boxes() and stamp.exists() and stamp.read_text() == current:
            return
        with progress.step(f"adding the Vagrant box {name} ({box.stat().st_size >> 20} MiB)"):
            self.cli.add_box(name, box).check("vagrant box add")
        stamp.write_text(current)

    def _remove(self) -> None:
        for shell in self.shells.values():
            shell.close()
        self.shells.clear()
        try:
            self.cli.destroy()
        finally:
            swept = libvirt.sweep(self.spec.name)
            if swept:
                progress.say(f"removed what the lab left in libvirt: {', '.join(swept)}")
            self.kubeconfig.unlink(missing_ok=True)
