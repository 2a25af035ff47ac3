"""Smoke: the lab is what the spec asked for, and myapp runs on it."""

from __future__ import annotations

from typing import Any

import pytest

from svclab.fixtures import LiveLab
from svclab.jig import Pod


def test_lab_has_the_requested_ready_nodes(lab: LiveLab) -> None:
    ready = lab.kubectl.run("wait", "--for=condition=Ready", "nodes", "--all", "--timeout=60s")
    assert ready.ok, ready.describe()
    assert len(lab.nodes) == lab.spec.nodes, f"expected {lab.spec.nodes} nodes, found {lab.nodes}"
    assert [n.role for n in lab.nodes].count("control-plane") == 1


def test_every_kube_system_pod_is_running_and_ready(lab: LiveLab) -> None:
    pods = lab.kubectl.get("pods", namespace="kube-system")["items"]
    bad = [(p["metadata"]["name"], p["status"].get("phase"))
           for p in pods
           if p["status"].get("phase") != "Running"
           or not all(c.get("ready") for c in p["status"].get("containerStatuses", []))]
    assert pods and bad == [], f"kube-system pods not Running and Ready: {bad}"


def test_proxy_mode_in_force_is_the_requested_one(lab: LiveLab) -> None:
    assert lab.proxy.mismatch() is None, lab.proxy.mismatch()
    assert set(lab.proxy.observed) == {n.name for n in lab.nodes}


def test_myapp_pods_are_ready_on_more_than_one_node(myapp: list[Pod]) -> None:
    assert len(myapp) == 3 and all(p.ready for p in myapp), myapp
    assert len({p.node for p in myapp}) > 1, f"all myapp pods on one node: {myapp}"


def test_negative_control_another_requested_mode_is_reported_as_a_mismatch(lab: LiveLab) -> None:
    """Asking for a mode other than the one in force must be a failure, never a silent pass."""
    from svclab.proxymode import in_force

    other = next(m for m in ("iptables", "nftables", "ipvs") if m != lab.mode)
    found = in_force(other, lab.kubectl, lab.shell, [n.name for n in lab.nodes])
    sentence = found.mismatch()
    assert sentence is not None and repr(other) in sentence and lab.mode in sentence, sentence


def test_no_node_ever_pulled_an_image(lab: LiveLab) -> None:
    """Every image is preloaded: containerd on every node logged no PullImage request."""
    assert lab.shell is not None
    for node in lab.nodes:
        log = lab.shell.node_run(node.name, ["journalctl", "-u", "containerd", "--no-pager", "-o", "cat"])
        assert log.ok and "starting containerd" in log.stdout, log.describe()
        pulls = [line for line in log.stdout.splitlines() if "PullImage" in line]
        assert pulls == [], f"{node.name} pulled:\n" + "\n".join(pulls[:10])


def test_kubelet_containerd_and_kube_proxy_run_on_every_node(lab: LiveLab, nodes: dict[str, Any]) -> None:
    """The seeds' checklist item "kube-proxy runs on every node", read through testinfra."""
    for name, host in nodes.items():
        for unit in ("kubelet", "containerd"):
            assert host.service(unit).is_running, f"{name}: {unit} is not running"
        assert host.process.filter(comm="kube-proxy"), f"{name}: no kube-proxy process"


def test_the_lab_network_cannot_forward_off_the_machine(lab: LiveLab) -> None:
    """Network hygiene: the host drops whatever the lab's bridge would forward elsewhere."""
    fenced = getattr(lab.provider, "fenced", None)
    if fenced is None:
        pytest.skip(f"the {lab.spec.provider} provider does not own the lab's network")
    assert fenced(), "no DOCKER-USER rule drops traffic leaving the lab's bridge"
