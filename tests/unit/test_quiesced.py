"""IPVS's terminating-endpoint fallback: a pod kube-proxy holds at weight 0 is quiesced, not lost.

The batch is the real one from the 1.35 IPVS lab's failing run (30 of 30 to one of two
terminating pods through the VM's node port, Local policy). The ipvsadm table is rebuilt in
ipvsadm's format from that run's facts, which listed the same two real servers for the ClusterIP
at weights 0 and 1 (the node port's own table was not read then; the suite reads it now)."""

from __future__ import annotations

from pathlib import Path

from svclab.core.result import CommandResult
from svclab.expect import reaches_all, reaches_or_quiesced
from svclab.observe.probes import parse_batch

RECORDED = Path(__file__).resolve().parents[1] / "recorded" / "lab" / "ipvs-vm"
URL = "http://172.29.0.128:30147/hostname.html"
PODS = {"drain-876d77749-hxxb7": "10.244.3.34", "drain-876d77749-xtw9k": "10.244.3.33"}


def table(weight: int) -> CommandResult:
    text = ("IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "TCP  172.29.0.128:30147 rr\n"
            f"  -> 10.244.3.33:80                Masq    {weight}      0          12        \n"
            "  -> 10.244.3.34:80                Masq    1      0          30        \n")
    return CommandResult("node/svclab-ipvs-1-35-vm", ("ipvsadm", "-Ln", "-t", "172.29.0.128:30147"), 0, text, "", 0.1)


def batch() -> object:
    out = (RECORDED / "terminating-nodeport-local-batch.txt").read_text()
    return parse_batch(URL, CommandResult("client/outside", ("curl",), 0, out, "", 0.45), 30)


def test_the_run_failed_the_plain_check_with_one_pod_silent() -> None:
    assert not reaches_all(batch(), list(PODS)).ok


def test_a_pod_at_weight_0_is_quiesced_and_the_finding_says_so() -> None:
    verdict = reaches_or_quiesced(batch(), PODS, table(0), "172.29.0.128", 30147, "node port")
    assert verdict.ok, verdict.report()
    assert verdict.data["finding"] == "quiesced" and "xtw9k at IPVS weight 0" in verdict.observed


def test_a_silent_pod_ipvs_still_weighs_is_lost() -> None:
    verdict = reaches_or_quiesced(batch(), PODS, table(1), "172.29.0.128", 30147, "node port")
    assert not verdict.ok and "not answering and not quiesced" in verdict.observed


def test_its_verdict_records_the_sample_as_every_traffic_verdict_does() -> None:
    """The terminating suite's negative control reads curl's exit codes from this verdict (it
    failed with a KeyError in CI when they were missing): a real refused batch, both pods at 0."""
    out = (RECORDED.parent / "curl-batch-no-endpoints-iptables.txt").read_text()
    refused = parse_batch(URL, CommandResult("client/outside", ("curl",), 0, out, "", 0.3), 20)
    verdict = reaches_or_quiesced(refused, PODS, table(0), "172.29.0.128", 30147, "node port")
    assert not verdict.ok
    assert verdict.data["curl_exits"] == {"7": 20} and verdict.data["requested"] == 20
