"""Benchmark: warm lab up (cached images) to myapp Ready, beside a bare `kind create
cluster` on the same generated config, in the same run; and the lab's peak memory.
With `--modes iptables ipvs` the IPVS lab (its IPVS node in a qemu VM on a host without
ip_vs) is measured in the same run, and its memory includes the qemu process.

    python bench/lab_up.py [--modes iptables [ipvs]] [--rounds 1]

Prints one Markdown table row per measurement (paste into docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import threading
import time
from pathlib import Path

from svclab.core import tools
from svclab.core.kubectl import Kubectl
from svclab.core.spec import from_settings
from svclab.harness.jig import Jig
from svclab.labs import hostcheck
from svclab.labs.kind import KindLab, kind_config


def lab_memory(name: str) -> int:
    """Bytes used by the lab's node containers (their cgroups' memory.usage_in_bytes), plus
    the resident memory of its IPVS VM's qemu, if it has one."""
    ids = subprocess.run(["docker", "ps", "-q", "--no-trunc", "--filter", f"label=io.x-k8s.kind.cluster={name}"],
                         capture_output=True, text=True, check=False).stdout.split()
    total = 0
    for cid in ids:
        for path in (Path(f"/sys/fs/cgroup/memory/docker/{cid}/memory.usage_in_bytes"),
                     Path(f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/memory.current")):
            if path.exists():
                total += int(path.read_text())
                break
    pidfile = tools.state_dir(name, create=False) / "vm" / "qemu.pid"
    try:
        status = Path(f"/proc/{int(pidfile.read_text())}/status").read_text()
        total += next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:"))
    except (OSError, ValueError, StopIteration):
        pass
    return total


class PeakMemory(threading.Thread):
    def __init__(self, name: str) -> None:
        super().__init__(daemon=True)
        self.name_, self.peak, self.stop = name, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            self.peak = max(self.peak, lab_memory(self.name_))


def svclab_up(mode: str) -> tuple[float, int]:
    spec = from_settings({"lab": "kind:bench-svclab", "proxy_mode": mode})
    lab = KindLab(spec)
    watch = PeakMemory(spec.name)
    watch.start()
    start = time.monotonic()
    try:
        lab.up()
        jig = Jig(Kubectl(lab.kubeconfig, tools.binary("kubectl")), "default")
        jig.deploy_myapp(3)
        elapsed = time.monotonic() - start
        return elapsed, max(watch.peak, lab_memory(spec.name))  # one more sample of the settled lab
    finally:
        watch.stop.set()
        lab.down()


def bare_kind(mode: str) -> float:
    """`kind create cluster` alone on the same config: no add-ons, no workload, no wait."""
    spec = from_settings({"lab": "kind:bench-bare", "proxy_mode": mode})
    lab = KindLab(spec)
    lab.preflight()
    lab.state.mkdir(parents=True, exist_ok=True)
    config = lab.state / "kind-config.yaml"
    config.write_text(kind_config(spec, hostcheck.gather().cgroup_version))
    lab.net.ensure()
    kind = str(tools.binary("kind"))
    start = time.monotonic()
    try:
        subprocess.run([kind, "create", "cluster", "--name", spec.name, "--config", str(config),
                        "--kubeconfig", str(lab.state / "kubeconfig")], check=True,
                       env={**__import__("os").environ, "KIND_EXPERIMENTAL_DOCKER_NETWORK": lab.network},
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.monotonic() - start
    finally:
        subprocess.run([kind, "delete", "cluster", "--name", spec.name], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lab.net.remove()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modes", nargs="+", default=["iptables"])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.release()}, {__import__('os').cpu_count()} cores")
    for _ in range(args.rounds):
        bare = bare_kind("iptables")
        for mode in args.modes:
            up, peak = svclab_up(mode)
            print(f"| {mode} | bare kind create (iptables) {bare:.1f} s | svclab lab up to myapp Ready {up:.1f} s "
                  f"| ratio {up / bare:.2f} | peak lab memory {peak / 2**30:.2f} GiB |")


if __name__ == "__main__":
    main()
