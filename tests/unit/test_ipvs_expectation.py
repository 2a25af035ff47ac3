"""The IPVS virtual-server expectation on the seeds' recorded `ipvsadm -Ln` output."""

from __future__ import annotations

from pathlib import Path

from svclab.expect import ipvs_virtual_server
from svclab.result import CommandResult

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
