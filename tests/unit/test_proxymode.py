"""Which proxy mode is in force, and when a lab that mixes modes is still honest."""

from __future__ import annotations

from svclab.observe.proxymode import InForce

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
