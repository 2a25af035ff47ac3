"""Which proxy mode is in force, and when a lab that mixes modes is still honest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from svclab.core.result import CommandResult
from svclab.observe.proxymode import (
    InForce,
    ipvs_scheduler,
    kube_proxy_config,
    put_kube_proxy_config,
    set_ipvs_scheduler,
)

IPVS_LAB_ON_THIS_HOST = {"svclab-control-plane": "iptables", "svclab-worker": "iptables", "svclab-vm": "ipvs"}


def test_every_node_in_the_requested_mode_is_no_mismatch() -> None:
    found = InForce("iptables", "iptables", {"a": "iptables", "b": "iptables"})
    assert found.mismatch() is None
    assert found.dataplane() == ["a", "b"]


def test_a_node_in_another_mode_is_a_mismatch_unless_the_lab_declared_it() -> None:
    silent = InForce("ipvs", "ipvs", IPVS_LAB_ON_THIS_HOST)
    assert silent.mismatch() == ("kube-proxy mode 'ipvs' was requested but the nodes' rules show otherwise "
                                 "(svclab-control-plane: iptables, svclab-worker: iptables).")
    declared = InForce("ipvs", "ipvs", IPVS_LAB_ON_THIS_HOST,
                       {"svclab-control-plane": "iptables", "svclab-worker": "iptables"})
    assert declared.mismatch() is None
    assert declared.dataplane() == ["svclab-vm"]


def test_a_declared_node_that_runs_yet_another_mode_is_still_a_mismatch() -> None:
    found = InForce("ipvs", "ipvs", {**IPVS_LAB_ON_THIS_HOST, "svclab-worker": "none"},
                    {"svclab-control-plane": "iptables", "svclab-worker": "iptables"})
    assert found.mismatch() == ("kube-proxy mode 'ipvs' was requested but the nodes' rules show otherwise "
                                "(svclab-worker: none).")


def test_no_node_in_the_requested_mode_is_a_mismatch_even_when_every_other_is_declared() -> None:
    found = InForce("ipvs", "ipvs", {"a": "iptables"}, {"a": "iptables"})
    assert found.mismatch() == "kube-proxy mode 'ipvs' was requested but no node runs it."


def test_the_configmap_must_say_the_requested_mode() -> None:
    found = InForce("ipvs", "iptables", {"a": "iptables"})
    assert found.mismatch() == "kube-proxy mode 'ipvs' was requested but its ConfigMap says 'iptables'."


def test_a_declared_node_showing_the_requested_mode_is_a_mismatch_not_a_data_plane_node() -> None:
    """Where requests go is what the lab declared, never inferred from a stray kube-ipvs0."""
    found = InForce("ipvs", "ipvs", {**IPVS_LAB_ON_THIS_HOST, "svclab-control-plane": "ipvs"},
                    {"svclab-control-plane": "iptables", "svclab-worker": "iptables"})
    assert found.dataplane() == ["svclab-vm"]
    assert found.mismatch() == ("kube-proxy mode 'ipvs' was requested but the nodes' rules show otherwise "
                                "(svclab-control-plane: ipvs).")


class RecordedKubectl:
    """kube-proxy's ConfigMap as recorded on the IPVS lab; every write is kept, none is sent."""

    def __init__(self) -> None:
        recorded = Path(__file__).parent.parent / "recorded" / "lab" / "ipvs-vm" / "kube-proxy-configmap.json"
        self.configmap = json.loads(recorded.read_text(encoding="utf-8"))
        self.calls: list[tuple[str, ...]] = []

    def get(self, kind: str, *names: str, namespace: str | None = None) -> Any:
        return self.configmap

    def run(self, *args: str, timeout: float = 60) -> CommandResult:
        self.calls.append(args)
        if args[0] == "patch":
            self.configmap["data"]["config.conf"] = json.loads(args[-1])["data"]["config.conf"]
        return CommandResult("host", ("kubectl", *args), 0, "", "", 0.1)


def test_each_new_scheduler_restarts_kube_proxy_and_the_lab_own_rr_needs_no_restore() -> None:
    kubectl = RecordedKubectl()
    original = kube_proxy_config(kubectl)  # type: ignore[arg-type]
    set_ipvs_scheduler(kubectl, "rr")  # type: ignore[arg-type]
    assert kubectl.calls == []  # already rr: no restart
    set_ipvs_scheduler(kubectl, "sh")  # type: ignore[arg-type]
    assert ipvs_scheduler(kubectl) == "sh"  # type: ignore[arg-type]
    assert [c[0] for c in kubectl.calls] == ["patch", "delete", "rollout"]
    set_ipvs_scheduler(kubectl, "rr")  # type: ignore[arg-type]
    assert [c[0] for c in kubectl.calls][3:] == ["patch", "delete", "rollout"]
    # kubeadm wrote the ConfigMap in yaml.safe_dump's layout: rr again is the original, byte for byte
    assert kube_proxy_config(kubectl) == original  # type: ignore[arg-type]
    put_kube_proxy_config(kubectl, original, "restoring")  # type: ignore[arg-type]
    assert len(kubectl.calls) == 6
