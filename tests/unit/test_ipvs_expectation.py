"""The IPVS virtual-server expectation on the seeds' recorded `ipvsadm -Ln` output."""

from __future__ import annotations

from pathlib import Path

from svclab.core.result import CommandResult
from svclab.expect import ipvs_virtual_server

SEEDS = Path(__file__).parent.parent / "recorded" / "seeds"
PODS = ["10.244.2.115", "10.244.2.116", "10.244.4.105"]


def dump(node: str, name: str = "ipvsadm-Ln-clusterip.txt", rc: int = 0) -> CommandResult:
    text = (SEEDS / name).read_text().replace("……………… \n", "")
    return CommandResult(f"node/{node}", ("docker", "exec", node, "ipvsadm", "-Ln"), rc, text, "", 0.01)


def test_every_node_lists_the_clusterip_with_exactly_the_endpoints() -> None:
    verdict = ipvs_virtual_server({"a": dump("a"), "b": dump("b")}, "10.106.66.120", 80, "rr", PODS)
    assert verdict.ok, verdict.report()


def test_a_missing_real_server_or_another_scheduler_fails() -> None:
    dumps = {"a": dump("a")}
    assert not ipvs_virtual_server(dumps, "10.106.66.120", 80, "rr", [*PODS, "10.244.9.9"]).ok
    assert not ipvs_virtual_server(dumps, "10.106.66.120", 80, "lc", PODS).ok


def test_a_node_without_the_virtual_server_is_named() -> None:
    verdict = ipvs_virtual_server({"a": dump("a"), "b": dump("b", rc=1)}, "10.106.66.120", 80, "rr")
    assert not verdict.ok and "b: None" in verdict.observed and "docker exec b ipvsadm -Ln" in verdict.report()


def test_no_node_read_is_a_failure_not_a_vacuous_pass() -> None:
    verdict = ipvs_virtual_server({}, "10.106.66.120", 80, "rr")
    assert not verdict.ok and verdict.observed == "no node was read"
    assert not ipvs_virtual_server({"a": dump("a")}, "10.106.66.120", 80, "rr", []).ok


VM = Path(__file__).parent.parent / "recorded" / "lab" / "ipvs-vm"


def test_the_ipvs_vm_lists_the_kubernetes_service_and_a_draining_real_server() -> None:
    """Recorded in the IPVS VM node of a lab on this machine, during the named-ports suite:
    the pod that stopped being an endpoint stays listed with weight 0 while it drains."""
    from svclab.observe.parsers import find_virtual, parse_ipvsadm

    services = parse_ipvsadm((VM / "ipvsadm-Ln.txt").read_text())
    api = find_virtual(services, "10.96.0.1", 443)
    assert api is not None and api.scheduler == "rr"
    assert [(r.address, r.port, r.forward) for r in api.real_servers] == [("172.29.0.3", 6443, "Masq")]
    named = find_virtual(services, "10.101.105.106", 80)
    assert named is not None
    assert [(r.port, r.weight) for r in named.real_servers] == [(80, 1), (8080, 0), (8080, 1), (80, 1)]
    assert find_virtual(services, "10.96.0.10", 53, "UDP") is not None
