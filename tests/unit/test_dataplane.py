"""The per-mode data-plane readers on dumps recorded from live labs (tests/recorded)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from svclab.core.result import CommandResult
from svclab.expect import entries_present
from svclab.observe.dataplane import nft_elements, nodeport_entries, service_entries

RECORDED = Path(__file__).parent.parent / "recorded"


class Dumps:
    """A node shell that answers every command with one recorded dump."""

    def __init__(self, text: str, rc: int = 0) -> None:
        self.text, self.rc = text, rc

    host = "recorded://"

    def run(self, argv: Sequence[str], *, timeout: float = 60.0, stdin: str | None = None) -> CommandResult:
        return CommandResult("node/w", ("docker", "exec", "w", *argv), self.rc, self.text, "", 0.01)


def test_iptables_node_port_rule_is_found_by_port_only() -> None:
    shell = Dumps((RECORDED / "lab" / "iptables-save-nat-nodeport.txt").read_text())
    found = nodeport_entries(shell, "w", "iptables", "172.29.0.3", 31682)
    assert found.present and len(found.lines) == 2  # the node addresses, and 127.0.0.0/8 (localhost node ports)
    assert all("myapp-nodeport:http" in line for line in found.lines)
    assert not nodeport_entries(shell, "w", "iptables", "172.29.0.3", 31683).present


def test_iptables_clusterip_rule_needs_address_protocol_and_port() -> None:
    shell = Dumps((RECORDED / "lab" / "iptables-save-nat.txt").read_text())
    assert service_entries(shell, "w", "iptables", "10.96.0.10", 53, "udp").present
    assert service_entries(shell, "w", "iptables", "10.96.0.10", 53, "tcp").present
    assert not service_entries(shell, "w", "iptables", "10.96.0.10", 54, "tcp").present
    assert not service_entries(shell, "w", "iptables", "10.96.0.1", 53, "udp").present


def test_ipvs_virtual_server_is_read_with_its_real_servers() -> None:
    shell = Dumps((RECORDED / "lab" / "ipvs-vm" / "ipvsadm-Ln.txt").read_text())
    found = service_entries(shell, "vm", "ipvs", "10.96.0.1", 443)
    assert found.lines == ("TCP 10.96.0.1:443 rr", "-> 172.29.0.3:6443 Masq 1")


def test_a_failed_dump_is_an_error_never_an_absence() -> None:
    found = service_entries(Dumps("", rc=1), "w", "nftables", "10.96.0.1", 443)
    assert not found.present and found.error
    verdict = entries_present(found, want=False)
    assert not verdict.ok and "failed on w (exit 1)" in verdict.observed


def test_nft_map_elements_are_split_one_per_entry() -> None:
    text = ("table ip kube-proxy {\n\tmap service-ips {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n"
            "\t\telements = { 10.96.0.10 . tcp . 53 : goto service-NWBZK7IH-kube-system/kube-dns/tcp/dns-tcp,\n"
            "\t\t\t     10.96.0.1 . tcp . 443 : goto service-2QRHZV4L-default/kubernetes/tcp/https }\n\t}\n}\n")
    assert nft_elements(text) == ["10.96.0.10 . tcp . 53 : goto service-NWBZK7IH-kube-system/kube-dns/tcp/dns-tcp",
                                  "10.96.0.1 . tcp . 443 : goto service-2QRHZV4L-default/kubernetes/tcp/https"]
    assert service_entries(Dumps(text), "w", "nftables", "10.96.0.1", 443).present
    assert not service_entries(Dumps(text), "w", "nftables", "10.96.0.1", 80).present


def test_recorded_nft_service_ips_map_of_a_live_nftables_lab() -> None:
    shell = Dumps((RECORDED / "lab" / "nft-map-service-ips.txt").read_text())
    found = service_entries(shell, "w", "nftables", "10.96.0.10", 53, "udp")
    assert found.lines == ("10.96.0.10 . udp . 53 : goto service-FY5PMXPG-kube-system/kube-dns/udp/dns",)
    assert service_entries(shell, "w", "nftables", "10.104.128.139", 80).present
    assert not service_entries(shell, "w", "nftables", "10.104.128.139", 8080).present
