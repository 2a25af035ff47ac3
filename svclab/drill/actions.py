"""What the drills do to a live lab, and the checks that the lab is whole again.

Each break is one real cause, made the way it happens on real clusters (a scaled-down
Deployment, a flag, a firewall rule, a stopped process), and each restore puts back exactly
what the break saved in its state dict.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import yaml

from svclab.core.result import CommandResult
from svclab.core.wait import wait_for
from svclab.expect import Verdict, holds
from svclab.harness.live import LiveLab
from svclab.observe.proxymode import in_force, ipvs_scheduler, set_ipvs_scheduler

State = dict[str, str]
KCM_MANIFEST = "/etc/kubernetes/manifests/kube-controller-manager.yaml"
FIREWALL = ["PREROUTING", "-p", "tcp", "--dport", "31682", "-m", "comment", "--comment", "svclab-drill", "-j", "DROP"]
OTHER_MODE = {"ipvs": "nftables", "iptables": "nftables", "nftables": "iptables"}  # each switch cleans up after itself


def node_run(lab: LiveLab, node: str, argv: list[str], what: str) -> CommandResult:
    return lab.on(node).run(argv, timeout=120).check(what)


def ks(lab: LiveLab, *args: str, what: str = "kubectl", timeout: float = 300) -> CommandResult:
    return lab.kubectl.run(*args, "-n", "kube-system", timeout=timeout).check(what)


def dataplane_worker(lab: LiveLab) -> str:
    """Where traffic goes through the requested mode: a worker of the data plane (the IPVS VM)."""
    return next(n.name for n in lab.dataplane if n.role == "worker")


def last_worker(lab: LiveLab) -> str:
    return [n.name for n in lab.nodes if n.role == "worker"][-1]


def control_plane(lab: LiveLab) -> str:
    return next(n.name for n in lab.nodes if n.role == "control-plane")


def _rollout(lab: LiveLab, kind: str, name: str) -> Verdict:
    done = lab.kubectl.run("rollout", "status", f"{kind}/{name}", "-n", "kube-system", "--timeout=240s", timeout=260)
    last = (done.stdout.strip().splitlines() or [done.stderr.strip()])[-1]
    return holds(f"{kind} {name} rolled out", done.ok, "rollout complete", last[-200:], done)


# -- CoreDNS -------------------------------------------------------------------------
def scale_coredns(replicas: int) -> Callable[[LiveLab, State], None]:
    def step(lab: LiveLab, state: State) -> None:
        ks(lab, "scale", "deployment/coredns", f"--replicas={replicas}", what="scaling CoreDNS")
        if replicas == 0:
            wait_for(lambda: not lab.kubectl.get("pods", "-l", "k8s-app=kube-dns", namespace="kube-system")["items"],
                     what="CoreDNS pods gone", timeout=120)
    return step


def coredns_ready(lab: LiveLab, state: State) -> Verdict:
    return _rollout(lab, "deployment", "coredns")


def drop_lab_zone(lab: LiveLab, state: State) -> None:
    cm = lab.kubectl.get("configmap", "coredns", namespace="kube-system")
    state["corefile"] = cm["data"]["Corefile"]
    kept = "\n".join(ln for ln in state["corefile"].splitlines() if "lab.zone" not in ln) + "\n"
    _set_corefile(lab, kept)


def restore_coredns_config(lab: LiveLab, state: State) -> None:
    _set_corefile(lab, state["corefile"])


def _set_corefile(lab: LiveLab, corefile: str) -> None:
    ks(lab, "patch", "configmap", "coredns", "--type", "merge", "-p", json.dumps({"data": {"Corefile": corefile}}),
       what="patching CoreDNS's Corefile")
    ks(lab, "rollout", "restart", "deployment/coredns", what="restarting CoreDNS")
    ks(lab, "rollout", "status", "deployment/coredns", "--timeout=240s", what="CoreDNS back")


# -- kube-controller-manager ---------------------------------------------------------
def controllers(off: str) -> Callable[[LiveLab, State], None]:
    """off="endpointslice-controller": append -NAME to --controllers; off="": remove what was appended."""
    def step(lab: LiveLab, state: State) -> None:
        node = control_plane(lab)
        if off:
            script = f"sed -i 's/^\\(    - --controllers=.*\\)$/\\1,-{off}/' {KCM_MANIFEST}"
            state["off"] = off
        else:
            script = f"sed -i 's/,-{state['off']}$//' {KCM_MANIFEST}"
        node_run(lab, node, ["sh", "-c", script], "editing kube-controller-manager's static pod")
        want = f"-{state['off']}"
        wait_for(lambda: _kcm_flag(lab, want) == bool(off), what="kube-controller-manager restarted with its flags",
                 timeout=180, interval=2)
    return step


def _kcm_flag(lab: LiveLab, flag: str) -> bool | None:
    pods = lab.kubectl.get("pods", "-l", "component=kube-controller-manager", namespace="kube-system")["items"]
    if not pods:
        return None
    command = " ".join(pods[0]["spec"]["containers"][0].get("command", []))
    ready = any(c.get("ready") for c in pods[0]["status"].get("containerStatuses", []))
    return (flag in command) if ready else None


def controller_manager_ready(lab: LiveLab, state: State) -> Verdict:
    back = _kcm_flag(lab, f"-{state['off']}")
    return holds("kube-controller-manager runs with every controller", back is False,
                 f"ready, without -{state['off']}", f"flag present: {back}")


# -- kube-proxy ----------------------------------------------------------------------
def _proxy_daemonset(lab: LiveLab, node: str) -> str:
    pods = lab.kubectl.get("pods", "--field-selector", f"spec.nodeName={node}", namespace="kube-system")["items"]
    owners = [o["name"] for p in pods for o in p["metadata"].get("ownerReferences", [])
              if o["kind"] == "DaemonSet" and o["name"].startswith("kube-proxy")]
    return str(owners[0])


def kube_proxy_bad_flag(lab: LiveLab, state: State) -> None:
    name = state["daemonset"] = _proxy_daemonset(lab, dataplane_worker(lab))
    ds = lab.kubectl.get("daemonset", name, namespace="kube-system")
    command = ds["spec"]["template"]["spec"]["containers"][0]["command"]
    state["command"] = json.dumps(command)
    _set_command(lab, name, [*command, "--svclab-drill-unknown-flag"])
    wait_for(lambda: _crashing(lab), what="a kube-proxy pod crash-looping", timeout=180, interval=2)


def kube_proxy_restore_command(lab: LiveLab, state: State) -> None:
    _set_command(lab, state["daemonset"], json.loads(state["command"]))


def _set_command(lab: LiveLab, daemonset: str, command: list[str]) -> None:
    patch = [{"op": "replace", "path": "/spec/template/spec/containers/0/command", "value": command}]
    ks(lab, "patch", "daemonset", daemonset, "--type", "json", "-p", json.dumps(patch), what="patching kube-proxy")


def _crashing(lab: LiveLab) -> bool:
    pods = lab.kubectl.get("pods", "-l", "k8s-app=kube-proxy", namespace="kube-system")["items"]
    return any(c.get("restartCount", 0) > 0 and not c.get("ready")
               for p in pods for c in p["status"].get("containerStatuses", []))


def kube_proxy_ready(lab: LiveLab, state: State) -> Verdict:
    name = state.get("daemonset") or _proxy_daemonset(lab, dataplane_worker(lab))
    return _rollout(lab, "daemonset", name)


def signal_kube_proxy(signal: str) -> Callable[[LiveLab, State], None]:
    def step(lab: LiveLab, state: State) -> None:
        node = state.setdefault("node", dataplane_worker(lab))
        node_run(lab, node, ["pkill", f"-{signal}", "-x", "kube-proxy"], f"SIG{signal} to kube-proxy on {node}")
    return step


def firewall_node_port(on: bool) -> Callable[[LiveLab, State], None]:
    def step(lab: LiveLab, state: State) -> None:
        node = state.setdefault("node", dataplane_worker(lab))
        node_run(lab, node, ["iptables", "-t", "raw", "-I" if on else "-D", *FIREWALL], f"firewall on {node}")
    return step


def no_firewall_rule(lab: LiveLab, state: State) -> Verdict:
    found = lab.on(state["node"]).run(["iptables", "-t", "raw", "-C", *FIREWALL])
    return holds(f"no drill firewall rule on {state['node']}", not found.ok, "iptables -C finds no rule",
                 f"exit {found.rc}", found)


# -- the pod network -------------------------------------------------------------------
def drop_pod_routes(lab: LiveLab, state: State) -> None:
    target = state["node"] = last_worker(lab)
    cidr = state["cidr"] = lab.kubectl.get("node", target)["spec"]["podCIDR"]
    for node in (n.name for n in lab.nodes if n.name != target):
        node_run(lab, node, ["ip", "route", "del", cidr], f"deleting the route to {cidr} on {node}")


def restart_labnet(lab: LiveLab, state: State) -> None:
    ks(lab, "delete", "pod", "-l", "app=labnet", what="restarting labnet (it writes every route at start)")
    ks(lab, "rollout", "status", "daemonset/labnet", "--timeout=240s", what="labnet back")


def routes_back(lab: LiveLab, state: State) -> Verdict:
    shown = {n.name: lab.on(n.name).run(["ip", "route", "show", state["cidr"]]).stdout.strip()
             for n in lab.nodes if n.name != state["node"]}
    return holds(f"every node routes {state['cidr']} again", all(shown.values()), "a route on each other node",
                 str(shown))


# -- nodes -------------------------------------------------------------------------------
def kubelet(action: str) -> Callable[[LiveLab, State], None]:
    def step(lab: LiveLab, state: State) -> None:
        node = state.setdefault("node", last_worker(lab))
        node_run(lab, node, ["systemctl", action, "kubelet"], f"systemctl {action} kubelet on {node}")
        if action == "stop":
            wait_for(lambda: _ready(lab, node) is False, what=f"{node} NotReady", timeout=180, interval=2)
    return step


def _ready(lab: LiveLab, node: str) -> bool:
    conds = lab.kubectl.get("node", node)["status"].get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)


def nodes_ready(lab: LiveLab, state: State) -> Verdict:
    ready = {n.name: _ready(lab, n.name) for n in lab.nodes}
    return holds("every node Ready", all(ready.values()), "Ready", str(ready))


# -- kube-proxy's configuration ------------------------------------------------------------
def _config(lab: LiveLab) -> tuple[dict[str, Any], dict[str, Any]]:
    cm = lab.kubectl.get("configmap", "kube-proxy", namespace="kube-system")
    return cm, yaml.safe_load(cm["data"]["config.conf"]) or {}


def _restart_kube_proxy(lab: LiveLab, config: str) -> None:
    ks(lab, "patch", "configmap", "kube-proxy", "--type", "merge", "-p",
       json.dumps({"data": {"config.conf": config}}), what="patching kube-proxy's ConfigMap")
    ks(lab, "delete", "pod", "-l", "k8s-app=kube-proxy", what="restarting kube-proxy")
    ks(lab, "rollout", "status", "daemonset/kube-proxy", "--timeout=240s", what="kube-proxy back")


def switch_mode(lab: LiveLab, state: State) -> None:
    cm, config = _config(lab)
    state["config"] = cm["data"]["config.conf"]
    config["mode"] = OTHER_MODE[lab.spec.proxy_mode]
    _restart_kube_proxy(lab, yaml.safe_dump(config))


def restore_mode(lab: LiveLab, state: State) -> None:
    _restart_kube_proxy(lab, state["config"])


def mode_back(lab: LiveLab, state: State) -> Verdict:
    found = in_force(lab.spec.proxy_mode, lab.kubectl, lab.node_shells(), lab.proxy.support)
    wrong = found.mismatch()
    return holds(f"kube-proxy back in {lab.spec.proxy_mode} mode", wrong is None, "no mismatch",
                 wrong or str(found.observed))


def scheduler(name: str) -> Callable[[LiveLab, State], None]:
    def step(lab: LiveLab, state: State) -> None:
        if name:
            state["scheduler"] = ipvs_scheduler(lab.kubectl)
        set_ipvs_scheduler(lab.kubectl, name or state["scheduler"])
    return step


def scheduler_back(lab: LiveLab, state: State) -> Verdict:
    now = ipvs_scheduler(lab.kubectl)
    return holds("kube-proxy's IPVS scheduler is back", now == state["scheduler"], repr(state["scheduler"]), repr(now))
