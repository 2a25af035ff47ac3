"""Smoke: the lab is what the spec asked for, and myapp runs on it."""

from __future__ import annotations

from typing import Any

import pytest

from svclab.expect import deprecation_logged, holds, refuted, verify, verify_all
from svclab.plugin.fixtures import Client, CommandResult, LiveLab, Pod, Shell, lab_images


def test_lab_has_the_requested_ready_nodes(lab: LiveLab) -> None:
    ready = lab.kubectl.run("wait", "--for=condition=Ready", "nodes", "--all", "--timeout=60s")
    roles = [n.role for n in lab.nodes]
    states = {item["metadata"]["name"]: next((c["status"] for c in item["status"].get("conditions", [])
                                              if c["type"] == "Ready"), "?")
              for item in lab.kubectl.get("nodes")["items"]}
    shown = ", ".join(f"{n.name} {n.role} {'Ready' if states.get(n.name) == 'True' else 'NotReady'}" for n in lab.nodes)
    if lab.provider.builds_cluster:  # the lab svclab built: the spec's shape
        shape = len(lab.nodes) == lab.spec.nodes and roles.count("control-plane") == 1
        wanted = f"{lab.spec.nodes} Ready nodes, one control plane"
    else:  # a cluster of the user's: whatever nodes it lists, each Ready
        shape, wanted = bool(lab.nodes), f"every one of the cluster's {len(lab.nodes)} nodes Ready"
    verify(holds("the lab has the requested Ready nodes", ready.ok and shape, wanted,
                 f"{len(lab.nodes)} nodes ({shown}); kubectl wait exit {ready.rc}", ready))


def test_every_kube_system_pod_is_running_and_ready(lab: LiveLab) -> None:
    pods = lab.kubectl.get("pods", namespace="kube-system")["items"]
    bad = [(p["metadata"]["name"], p["status"].get("phase"))
           for p in pods
           if p["status"].get("phase") != "Running"
           or not all(c.get("ready") for c in p["status"].get("containerStatuses", []))]
    verify(holds("every kube-system pod is Running and Ready", bool(pods) and not bad,
                 "at least one pod, all Running and Ready", f"{len(pods)} pods; not Running and Ready: {bad}"))


def test_proxy_mode_in_force_is_the_requested_one(lab: LiveLab) -> None:
    """Read again now, from the nodes (not the value cached when the lab came up)."""
    found = lab.read_proxy()
    wrong = found.mismatch()
    every = set(found.observed) == {n.name for n in lab.nodes}
    verify(holds(f"kube-proxy runs in {lab.spec.proxy_mode} mode", wrong is None and every,
                 f"{lab.spec.proxy_mode} in the ConfigMap (if any) and on "
                 + ("every node" if not found.support else ", ".join(found.dataplane()) or "its data-plane nodes"),
                 wrong or f"configured {found.configured}; nodes {found.observed}"))


def test_myapp_pods_are_ready_on_more_than_one_node(myapp: list[Pod]) -> None:
    verify(holds("myapp runs 3 ready pods on more than one node",
                 len(myapp) == 3 and all(p.ready for p in myapp) and len({p.node for p in myapp}) > 1,
                 "3 ready pods, on 2 nodes or more", ", ".join(f"{p.name} on {p.node}" for p in myapp)))


def test_no_node_ever_pulled_an_image(lab: LiveLab, shells: dict[str, Shell]) -> None:
    """Every image is preloaded: containerd on every node logged no PullImage request."""
    verdicts = []
    for node in lab.nodes:
        log = shells[node.name].run(["journalctl", "-u", "containerd", "--no-pager", "-o", "cat"])
        pulls = [line for line in log.stdout.splitlines() if "PullImage" in line]
        verdicts.append(holds(f"{node.name} pulled no image", log.ok and "starting containerd" in log.stdout
                              and not pulls, "containerd's log from its start, with no PullImage",
                              f"{len(pulls)} pulls: {pulls[:3]}", log))
    verify_all(verdicts)


def test_kubelet_containerd_and_kube_proxy_run_on_every_node(lab: LiveLab, nodes: dict[str, Any]) -> None:
    """The seeds' checklist item "kube-proxy runs on every node", read through testinfra."""
    verdicts = []
    for name, host in nodes.items():
        running = {unit: host.service(unit).is_running for unit in ("kubelet", "containerd")}
        proxies = host.process.filter(comm="kube-proxy")
        verdicts.append(holds(f"kubelet, containerd and kube-proxy run on {name}", all(running.values()) and
                              bool(proxies), "both services running, a kube-proxy process",
                              f"{running}, kube-proxy processes: {len(proxies)}"))
    verify_all(verdicts)


def test_the_lab_network_cannot_forward_off_the_machine(lab: LiveLab, outside: Client) -> None:
    """Network hygiene, proven by a dropped connection: from the lab network towards svclab's own
    target container off it, curl times out and the fence rule's drop counter goes up."""
    fence = getattr(lab.provider, "fence", None)
    if fence is None:
        pytest.skip(f"the {lab.spec.provider} provider does not own the lab's network")
    before, after, tried, listing = fence().probe(outside, lab_images().probe)
    verify(holds("the fence drops a connection leaving the lab network", before >= 0 and after > before
                 and tried.rc == 28, "curl times out (exit 28) and the fence's drop counter goes up",
                 f"curl exit {tried.rc}; drop counter {before} -> {after}", tried, listing))


IPVS_DEPRECATED = r"ipvs proxier .*deprecated"  # kube-proxy's line at start: "is now" (1.35), "has been" (1.37)


def kube_proxy_log(lab: LiveLab, node: str) -> CommandResult:
    """The log of the kube-proxy pod on `node` (svclab's DaemonSet or the kind nodes' support one)."""
    pods = lab.kubectl.run("get", "pods", "-n", "kube-system", "-l", "k8s-app in (kube-proxy, kube-proxy-host)",
                           "-o", "name", "--field-selector", f"spec.nodeName={node}").stdout.split()
    # a log that cannot be read is an error, never a "says nothing" (the control would pass on it)
    return lab.kubectl.run("logs", "-n", "kube-system", pods[0] if pods else f"kube-proxy-on-{node}",
                           "--tail=-1").check(f"kubectl logs of the kube-proxy pod on {node}")


@pytest.mark.requires_proxy_mode("ipvs", reason="kube-proxy says that its IPVS mode is deprecated")
def test_kube_proxy_says_that_ipvs_mode_is_deprecated(lab: LiveLab) -> None:
    """From 1.35 kube-proxy logs, when it starts in IPVS mode, that the mode is deprecated (off by
    default in 1.40, removed in 1.43, nftables suggested). Its IPVSDeprecation event is read into
    the lab facts: kube-proxy emits it before its event sink starts, and this lab records none."""
    ipvs_nodes = [n.name for n in lab.dataplane if lab.mode_on(n.name) == "ipvs"]
    verify_all([deprecation_logged(kube_proxy_log(lab, node), node, IPVS_DEPRECATED, lab.server_minor, since=35,
                                   what="kube-proxy's IPVS mode") for node in ipvs_nodes])


@pytest.mark.requires_proxy_mode("ipvs", reason="the control needs the IPVS lab's other nodes")
def test_negative_control_a_node_whose_kube_proxy_is_not_in_ipvs_mode_says_nothing(lab: LiveLab) -> None:
    """The line's cause is IPVS mode on that node: on the lab's node whose kube-proxy runs another
    mode (the kind nodes beside the IPVS VM), the same check fails."""
    others = [n.name for n in lab.nodes if lab.mode_on(n.name) != "ipvs"]
    if not others or lab.server_minor < 35:
        pytest.skip("every node runs IPVS here, or the cluster predates the warning: no node without the cause")
    node = others[0]
    refuted(deprecation_logged(kube_proxy_log(lab, node), node, IPVS_DEPRECATED, lab.server_minor, since=35,
                               what="kube-proxy's IPVS mode"), f"kube-proxy on {node} in {lab.mode_on(node)} mode")
