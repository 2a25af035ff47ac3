"""The drills: each breaks one real cause on the live lab and says which suites must catch it
and by which fact (a pattern in the failing test's report). Every drill has a restore and a
health check that must hold afterwards."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from svclab.core.spec import PROXY_MODES
from svclab.drill import actions as act
from svclab.expect import Verdict
from svclab.harness.live import LiveLab

Step = Callable[[LiveLab, dict[str, str]], None]  # the dict keeps what restore needs (the target, originals)


@dataclass(frozen=True)
class Drill:
    name: str
    breaks: str  # one sentence: what goes wrong, as in a real cluster
    suites: tuple[str, ...]  # test modules under suites/ that must catch it
    fact: str  # a regular expression the failing report must contain
    apply: Step
    restore: Step
    healthy: Callable[[LiveLab, dict[str, str]], Verdict]
    modes: tuple[str, ...] = field(default=PROXY_MODES)


# kind nodes send a lost pod subnet to the lab bridge, where the fence drops it (timed out); the
# IPVS VM sends it to qemu's restricted user network, which refuses it
LOST_ROUTE = r"failures: \d+ \((timed out|refused) \d+"
CATALOGUE: tuple[Drill, ...] = (
    Drill("coredns-down", "CoreDNS scaled to 0 replicas: nothing answers DNS",
          ("test_dns.py",), r"no DNS answer", act.scale_coredns(0), act.scale_coredns(2), act.coredns_ready),
    Drill("lab-zone-lost", "CoreDNS's configuration loses the lab zone (the ExternalName target's zone)",
          ("test_dns.py",), r"DNS A my\.k8s\.example\.com: does NOT hold", act.drop_lab_zone,
          act.restore_coredns_config, act.coredns_ready),
    Drill("endpointslice-controller-off", "kube-controller-manager runs without its EndpointSlice controller",
          ("test_endpoints_follow.py",), r"ready endpoints", act.controllers("endpointslice-controller"),
          act.controllers(""), act.controller_manager_ready),
    Drill("kube-proxy-crashloop", "a bad flag rolls out to kube-proxy: each updated pod crash-loops",
          ("test_nodeport.py",), r"kube-proxy-\S+ Running \((CrashLoopBackOff|Error)", act.kube_proxy_bad_flag,
          act.kube_proxy_restore_command, act.kube_proxy_ready),
    Drill("kube-proxy-frozen", "kube-proxy on one node is stopped (SIGSTOP): its pod looks fine, its rules go stale",
          ("test_nodeport.py",), r"NO ENTRY", act.signal_kube_proxy("STOP"), act.signal_kube_proxy("CONT"),
          act.kube_proxy_ready),
    Drill("node-port-firewalled", "a firewall rule on one node drops the seeds' node port 31682",
          ("test_nodeport.py",), r"timed out", act.firewall_node_port(True), act.firewall_node_port(False),
          act.no_firewall_rule),
    Drill("pod-routes-lost", "the other nodes lose their routes to one node's pod subnet",
          ("test_clusterip.py",), LOST_ROUTE, act.drop_pod_routes, act.restart_labnet, act.routes_back),
    Drill("kubelet-stopped", "the kubelet stops on a worker: the node goes NotReady",
          ("test_smoke.py",), r"NotReady|kubectl wait exit [1-9]", act.kubelet("stop"), act.kubelet("start"),
          act.nodes_ready),
    Drill("proxy-mode-changed", "kube-proxy's ConfigMap is switched to another mode and kube-proxy restarted",
          ("test_smoke.py",), r"but its ConfigMap says|nodes' rules show otherwise", act.switch_mode,
          act.restore_mode, act.mode_back),
    Drill("ipvs-scheduler-changed", "kube-proxy's IPVS scheduler is switched from rr to sh",
          ("test_clusterip.py",), r"rr cycles through the pods: does NOT hold", act.scheduler("sh"),
          act.scheduler(""), act.scheduler_back, modes=("ipvs",)),
)


def by_name(names: list[str] | None, mode: str) -> list[Drill]:
    """The drills asked for (all by default) that apply to `mode`; an unknown name is one sentence."""
    known = {d.name: d for d in CATALOGUE}
    unknown = [n for n in names or [] if n not in known]
    if unknown:
        raise ValueError(f"Unknown drill {', '.join(unknown)}: the drills are {', '.join(known)}.")
    chosen = [known[n] for n in names] if names else list(CATALOGUE)
    return [d for d in chosen if mode in d.modes]


def describe() -> str:
    return "\n".join(f"{d.name:30} {d.breaks} (caught by {', '.join(d.suites)}; modes {'/'.join(d.modes)})"
                     for d in CATALOGUE)


def dump(drill: Drill) -> str:
    return json.dumps({"name": drill.name, "breaks": drill.breaks, "suites": drill.suites, "fact": drill.fact})
