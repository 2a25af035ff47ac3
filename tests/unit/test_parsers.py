"""svclab.observe.parsers on the outputs recorded from the seed documents, plus small edge cases."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from svclab.observe.parsers import (
    DnsRecord,
    Listener,
    PortSpec,
    RealServer,
    find_virtual,
    parse_dig,
    parse_ipvsadm,
    parse_listeners,
    parse_ports,
    parse_table,
)

SEEDS = Path(__file__).parent.parent / "recorded" / "seeds"

POD_IPS = {"10.244.2.116", "10.244.4.105", "10.244.2.115"}
POD_NAMES = {f"myapp-deploy-5695bb5658-{s}" for s in ("2866m", "dcfw7", "n2b5w")}
MASQ_BACKENDS = tuple(RealServer(ip, 80, "Masq", 1, 0, 0) for ip in sorted(POD_IPS))


def recorded(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


def recorded_ipvsadm(name: str) -> str:
    """The recorded ipvsadm output without the author's `……` cut marks (see README.md)."""
    return "\n".join(line for line in recorded(name).splitlines() if line.strip().strip("…"))


def row(table: tuple[dict[str, str], ...], name: str) -> dict[str, str]:
    (found,) = [r for r in table if r["NAME"] == name]
    return found


# ---------------------------------------------------------------- recorded: ipvsadm -Ln


def test_clusterip_virtual_server_round_robins_over_three_masq_pods() -> None:
    services = parse_ipvsadm(recorded_ipvsadm("ipvsadm-Ln-clusterip.txt"))
    cluster_ip = row(
        parse_table(recorded("kubectl-get-svc-o-wide-clusterip.txt")), "myapp-clusterip"
    )

    assert cluster_ip["CLUSTER-IP"] == "10.106.66.120"
    service = find_virtual(services, "10.106.66.120", 80)
    assert service is not None
    assert (service.protocol, service.scheduler, service.persistent) == ("TCP", "rr", None)
    assert service.real_servers == MASQ_BACKENDS


def test_ipvs_backends_are_the_pod_ips_kubectl_shows() -> None:
    pods = parse_table(recorded("kubectl-get-pods-o-wide-show-labels-myapp.txt"))
    (service,) = parse_ipvsadm(recorded_ipvsadm("ipvsadm-Ln-clusterip.txt"))

    assert service.backends() == {(pod["IP"], 80) for pod in pods}


def test_recorded_nodeport_table_keeps_only_the_cluster_ip_entry() -> None:
    # The author cut the rest of the table: the node-address entries on 31682 are not in the
    # document, so the recording can only prove the ClusterIP entry.
    services = parse_ipvsadm(recorded_ipvsadm("ipvsadm-Ln-nodeport.txt"))

    assert [(s.address, s.port) for s in services] == [("10.99.50.81", 80)]
    assert services[0].real_servers == MASQ_BACKENDS
    assert not [s for s in services if s.port == 31682]


def test_externalip_gets_its_own_virtual_server_with_the_same_backends() -> None:
    services = parse_ipvsadm(recorded_ipvsadm("ipvsadm-Ln-externalip.txt"))
    svc = row(parse_table(recorded("kubectl-get-svc-o-wide-externalip.txt")), "myapp-externalip")

    external = find_virtual(services, svc["EXTERNAL-IP"], 80)
    cluster = find_virtual(services, svc["CLUSTER-IP"], 80)
    assert external is not None and cluster is not None
    assert (external.address, external.scheduler) == ("10.0.0.240", "rr")
    assert external.real_servers == cluster.real_servers == MASQ_BACKENDS


def test_ipvsadm_cut_marks_are_not_ipvsadm_output() -> None:
    with pytest.raises(ValueError, match="Not an ipvsadm -Ln line: '………………'"):
        parse_ipvsadm(recorded("ipvsadm-Ln-nodeport.txt"))


# ---------------------------------------------------------------- recorded: dig


def test_headless_name_answers_one_a_record_per_pod() -> None:
    result = parse_dig(recorded("dig-headless-A.txt"))

    assert result.status == "NOERROR"
    assert result.flags == {"qr", "aa", "rd"}
    assert len(result.answers) == 3
    assert {r.rtype for r in result.answers} == {"A"}
    assert {r.ttl for r in result.answers} == {14}
    assert result.addresses() == POD_IPS
    assert result.answers[0] == DnsRecord(
        "myapp-headless.default.svc.cluster.local.", 14, "IN", "A", "10.244.2.116"
    )
    assert (result.server, result.query_time_ms) == ("10.244.0.61", 0)


def test_externalname_answers_a_cname_to_the_external_name() -> None:
    result = parse_dig(recorded("dig-externalname.txt"))

    assert (result.status, result.flags) == ("NOERROR", frozenset({"qr", "aa", "rd"}))
    assert result.answers == (
        DnsRecord(
            "myapp-externalname.default.svc.cluster.local.",
            30,
            "IN",
            "CNAME",
            "my.k8s.example.com.",
        ),
    )
    assert result.cnames() == ("my.k8s.example.com.",)
    assert result.addresses() == frozenset()
    assert (result.server, result.query_time_ms) == ("10.244.0.61", 2072)


def test_dig_server_is_a_coredns_pod_ip() -> None:
    coredns_ips = {
        line.split()[6]
        for line in recorded("kubectl-get-pods-o-wide-A-grep-coredns.txt").splitlines()
    }

    assert coredns_ips == {"10.244.0.61", "10.244.0.62"}
    assert parse_dig(recorded("dig-headless-A.txt")).server in coredns_ips


# ---------------------------------------------------------------- recorded: netstat


def test_kube_proxy_holds_the_node_port_open() -> None:
    assert parse_listeners(recorded("netstat-lntp-nodeport.txt")) == (
        Listener("tcp", "::", 31682, "kube-proxy"),
    )
    assert parse_listeners(recorded("netstat-lntp-nodeport.txt"))[0].wildcard


# ---------------------------------------------------------------- recorded: kubectl get


def test_nodeport_service_shows_port_and_node_port() -> None:
    svc = row(parse_table(recorded("kubectl-get-svc-o-wide-nodeport.txt")), "myapp-nodeport")

    assert (svc["TYPE"], svc["CLUSTER-IP"], svc["EXTERNAL-IP"]) == (
        "NodePort",
        "10.99.50.81",
        "<none>",
    )
    assert parse_ports(svc["PORT(S)"]) == (PortSpec(80, 31682, "TCP"),)
    assert svc["SELECTOR"] == "app=myapp,release=v1"


@pytest.mark.parametrize(
    ("name", "service", "cluster_ip", "external_ip", "ports"),
    [
        ("clusterip", "myapp-clusterip", "10.106.66.120", "<none>", "80/TCP"),
        ("headless", "myapp-headless", "None", "<none>", "80/TCP"),
        ("nodeport", "myapp-nodeport", "10.99.50.81", "<none>", "80:31682/TCP"),
        ("externalname", "myapp-externalname", "<none>", "my.k8s.example.com", "<none>"),
        ("externalip", "myapp-externalip", "10.107.186.167", "10.0.0.240", "80/TCP"),
    ],
)
def test_service_tables(
    name: str, service: str, cluster_ip: str, external_ip: str, ports: str
) -> None:
    table = parse_table(recorded(f"kubectl-get-svc-o-wide-{name}.txt"))

    svc = row(table, service)
    assert (svc["CLUSTER-IP"], svc["EXTERNAL-IP"], svc["PORT(S)"]) == (
        cluster_ip,
        external_ip,
        ports,
    )
    kubernetes = row(table, "kubernetes")
    assert (kubernetes["CLUSTER-IP"], kubernetes["PORT(S)"]) == ("10.96.0.1", "443/TCP")


def test_externalname_service_has_no_ports() -> None:
    svc = row(
        parse_table(recorded("kubectl-get-svc-o-wide-externalname.txt")), "myapp-externalname"
    )

    assert svc["TYPE"] == "ExternalName"
    assert parse_ports(svc["PORT(S)"]) == ()


def test_pod_table_columns_with_spaces() -> None:
    pods = parse_table(recorded("kubectl-get-pods-o-wide-show-labels-myapp.txt"))

    assert {p["NAME"] for p in pods} == POD_NAMES
    assert {p["IP"] for p in pods} == POD_IPS
    assert {p["NOMINATED NODE"] for p in pods} == {p["READINESS GATES"] for p in pods} == {"<none>"}
    assert sorted(p["NODE"] for p in pods) == ["k8s-node01", "k8s-node02", "k8s-node02"]
    assert {p["LABELS"] for p in pods} == {
        "app=myapp,env=test,pod-template-hash=5695bb5658,release=v1"
    }


def test_deployment_and_replicaset_tables() -> None:
    (deploy,) = parse_table(recorded("kubectl-get-deploy-o-wide-myapp.txt"))
    (rs,) = parse_table(recorded("kubectl-get-rs-o-wide-myapp.txt"))

    assert (deploy["NAME"], deploy["READY"], deploy["UP-TO-DATE"]) == ("myapp-deploy", "3/3", "3")
    assert deploy["SELECTOR"] == "app=myapp,release=v1"
    assert (rs["DESIRED"], rs["READY"]) == ("3", "3")


def test_table_with_collapsed_spacing_is_split_on_whitespace() -> None:
    table = parse_table(recorded("kubectl-get-svc-kubia-collapsed.txt"))

    assert row(table, "kubia-service")["CLUSTER-IP"] == "10.108.27.114"
    assert row(table, "kubia-service")["PORT(S)"] == "80/TCP"


def test_table_without_extra_columns() -> None:
    (svc,) = parse_table(recorded("kubectl-get-svc-externalname-baidu.txt"))

    assert svc == {
        "NAME": "svc-externalname",
        "TYPE": "ExternalName",
        "CLUSTER-IP": "<none>",
        "EXTERNAL-IP": "www.baidu.com",
        "PORT(S)": "<none>",
        "AGE": "98s",
    }


def test_grep_output_without_header_is_refused() -> None:
    with pytest.raises(ValueError, match=r"Not a kubectl table header .*'kube-system +coredns-"):
        parse_table(recorded("kubectl-get-pods-o-wide-A-grep-coredns.txt"))


# ---------------------------------------------------------------- recorded: curl series


@pytest.mark.parametrize("name", sorted(p.name for p in SEEDS.glob("curl-*-hostname.txt")))
def test_every_hostname_answer_names_a_myapp_pod(name: str) -> None:
    assert set(recorded(name).split()) <= POD_NAMES


def test_clusterip_series_cycles_through_all_three_pods() -> None:
    names = recorded("curl-clusterip-hostname.txt").split()

    assert len(set(names[:3])) == 3
    assert names[3] == names[0]


# ---------------------------------------------------------------- inline: ipvsadm edge cases

IPVS_EDGES = """\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  172.16.1.111:31682 rr
  -> 10.244.2.115:80              Masq    1      2          7
TCP  10.96.0.10:53 rr persistent 10800
  -> 10.244.0.61:53               Masq    1      0          0
UDP  [fd00:10:96::a]:53 sh persistent 180 mask 128
  -> [fd00:10:244::3d]:53         Masq    1      0          1
FWM  1 rr
  -> 10.244.4.105:80              Route   2      0          0
FWM  7 IPv6 wlc
TCP  10.0.0.240:80 rr ops
"""


def test_ipvsadm_edge_cases() -> None:
    services = parse_ipvsadm(IPVS_EDGES)

    assert [(s.protocol, s.address, s.port) for s in services] == [
        ("TCP", "172.16.1.111", 31682),
        ("TCP", "10.96.0.10", 53),
        ("UDP", "fd00:10:96::a", 53),
        ("FWM", "1", 0),
        ("FWM", "7", 0),
        ("TCP", "10.0.0.240", 80),
    ]
    assert services[0].real_servers == (RealServer("10.244.2.115", 80, "Masq", 1, 2, 7),)
    assert [s.persistent for s in services] == [None, 10800, 180, None, None, None]
    assert [s.scheduler for s in services] == ["rr", "rr", "sh", "rr", "wlc", "rr"]
    assert services[2].real_servers[0].address == "fd00:10:244::3d"
    assert services[3].real_servers[0].forward == "Route"
    assert services[4].real_servers == services[5].real_servers == ()


def test_find_virtual() -> None:
    services = parse_ipvsadm(IPVS_EDGES)

    assert find_virtual(services, "[fd00:10:96::a]", 53, "UDP") is services[2]
    assert find_virtual(services, "fd00:10:96::a", 53) is None
    assert find_virtual(services, "172.16.1.112", 31682) is None


def test_ipvsadm_header_only_or_empty_means_no_services() -> None:
    assert parse_ipvsadm(IPVS_EDGES.split("TCP ")[0]) == ()
    assert parse_ipvsadm("") == ()


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("  -> 10.244.2.115:80  Masq  1  0  0\n", "'-> 10.244.2.115:80  Masq  1  0  0'"),
        ("TCP  10.96.0.1:443  12  340  0  2000  0\n", "'TCP  10.96.0.1:443  12  340  0  2000  0'"),
        ("TCP  10.96.0.1 rr\n", "'TCP  10.96.0.1 rr'"),
        ("TCP  10.96.0.1:443 rr persistent\n", "'TCP  10.96.0.1:443 rr persistent'"),
    ],
)
def test_ipvsadm_refuses_other_shapes(text: str, quoted: str) -> None:
    with pytest.raises(ValueError, match=re.escape(quoted)):
        parse_ipvsadm(text)


# ---------------------------------------------------------------- inline: dig edge cases

DIG_NXDOMAIN = """\
;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 4011
;; flags: qr aa rd; QUERY: 1, ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 1

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags:; udp: 1232
"""

DIG_CHAIN = """\
;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 2201
;; flags: qr rd ra; QUERY: 1, ANSWER: 3, AUTHORITY: 0, ADDITIONAL: 1

;; ANSWER SECTION:
ext.default.svc.cluster.local.\t5\tIN\tCNAME\tweb.lab.internal.
web.lab.internal.\t30\tIN\tCNAME\tweb1.lab.internal.
web1.lab.internal.\t30\tIN\tA\t172.16.1.111

;; AUTHORITY SECTION:
lab.internal.\t30\tIN\tNS\tns.lab.internal.

;; Query time: 3 msec
;; SERVER: fd00:10:96::a#53(fd00:10:96::a) (UDP)
"""


def test_dig_empty_answer() -> None:
    result = parse_dig(DIG_NXDOMAIN)

    assert (result.status, result.answers, result.addresses()) == ("NXDOMAIN", (), frozenset())
    assert result.flags == {"qr", "aa", "rd"}
    assert (result.server, result.query_time_ms) == (None, None)


def test_dig_cname_chain_keeps_order_and_skips_other_sections() -> None:
    result = parse_dig(DIG_CHAIN)

    assert result.cnames() == ("web.lab.internal.", "web1.lab.internal.")
    assert result.addresses() == {"172.16.1.111"}
    assert len(result.answers) == 3
    assert (result.server, result.query_time_ms) == ("fd00:10:96::a", 3)


def test_dig_record_data_keeps_its_spaces() -> None:
    text = DIG_CHAIN.replace(
        "web1.lab.internal.\t30\tIN\tA\t172.16.1.111",
        "_http._tcp.web.lab.internal. 30 IN SRV 0 100 80 web1.lab.internal.",
    )
    assert parse_dig(text).answers[2].data == "0 100 80 web1.lab.internal."


def test_dig_without_status_line_is_refused() -> None:
    with pytest.raises(ValueError, match=r"no '->>HEADER<<-' status line .*connection timed out"):
        parse_dig(";; connection timed out; no servers could be reached\n")


def test_dig_malformed_answer_is_refused() -> None:
    with pytest.raises(
        ValueError, match=re.escape("Not a dig answer record: 'web1.lab.internal. IN A'")
    ):
        parse_dig(
            DIG_CHAIN.replace(
                "web1.lab.internal.\t30\tIN\tA\t172.16.1.111", "web1.lab.internal. IN A"
            )
        )


# ---------------------------------------------------------------- inline: ss / netstat

SS_LNTP = """\
State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process
LISTEN 0      4096         0.0.0.0:31682      0.0.0.0:*     users:(("kube-proxy",pid=1,fd=9))
LISTEN 0      4096               *:10256            *:*     users:(("kube-proxy",pid=1,fd=7))
LISTEN 0      128             [::]:22            [::]:*     users:(("sshd",pid=812,fd=4))
LISTEN 0      4096   127.0.0.53%lo:53         0.0.0.0:*
"""

NETSTAT_LNTP = """\
Active Internet connections (only servers)
Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name
tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN      760/sshd: /usr/sbin
tcp        0      0 127.0.0.1:10248         0.0.0.0:*               LISTEN      -
tcp6       0      0 :::10250                :::*                    LISTEN      3961/kubelet
udp        0      0 0.0.0.0:8472            0.0.0.0:*                           -
"""


def test_ss_lntp_with_users_column() -> None:
    assert parse_listeners(SS_LNTP) == (
        Listener("tcp", "0.0.0.0", 31682, "kube-proxy"),
        Listener("tcp", "::", 10256, "kube-proxy"),
        Listener("tcp", "::", 22, "sshd"),
        Listener("tcp", "127.0.0.53", 53, None),
    )


def test_ss_without_header_and_with_netid() -> None:
    text = (
        "udp UNCONN 0 0 0.0.0.0:8472 0.0.0.0:*\n"
        'tcp LISTEN 0 4096 [::1]:6443 [::]:* users:(("kube-apiserver",pid=5,fd=3))\n'
    )

    assert parse_listeners(text) == (
        Listener("udp", "0.0.0.0", 8472, None),
        Listener("tcp", "::1", 6443, "kube-apiserver"),
    )
    assert parse_listeners(SS_LNTP.split("\n", 1)[1]) == parse_listeners(SS_LNTP)  # ss -lntpH


def test_netstat_with_header() -> None:
    listeners = parse_listeners(NETSTAT_LNTP)

    assert listeners == (
        Listener("tcp", "0.0.0.0", 22, "sshd"),
        Listener("tcp", "127.0.0.1", 10248, None),
        Listener("tcp", "::", 10250, "kubelet"),
        Listener("udp", "0.0.0.0", 8472, None),
    )
    assert [listener.wildcard for listener in listeners] == [True, False, True, True]


def test_listeners_refuse_other_text() -> None:
    assert parse_listeners("") == ()
    with pytest.raises(
        ValueError, match="Not a netstat or ss listener line: 'bash: ss: command not found'"
    ):
        parse_listeners("bash: ss: command not found\n")


# ---------------------------------------------------------------- inline: kubectl tables

MULTI_TABLE = """\
NAME                                READY   STATUS    RESTARTS      AGE
pod/myapp-deploy-5695bb5658-2866m   1/1     Running   2 (31h ago)   31h

NAME                     TYPE       CLUSTER-IP    EXTERNAL-IP   PORT(S)                      AGE
service/myapp-nodeport   NodePort   10.99.50.81   <none>        80:31682/TCP,443:30443/TCP   6s
"""


def test_several_tables_each_with_its_own_header() -> None:
    pod, svc = parse_table(MULTI_TABLE)

    assert pod["RESTARTS"] == "2 (31h ago)"
    assert svc["NAME"] == "service/myapp-nodeport"
    assert parse_ports(svc["PORT(S)"]) == (PortSpec(80, 31682, "TCP"), PortSpec(443, 30443, "TCP"))


def test_table_misaligned_row_is_refused() -> None:
    # The row is one column wider than its header allows: kubectl never prints that.
    text = MULTI_TABLE.replace(
        "NAME                                READY", "NAME                  READY"
    )
    with pytest.raises(ValueError, match="does not line up with its header: 'pod/myapp"):
        parse_table(text)


def test_table_header_must_be_upper_case() -> None:
    with pytest.raises(ValueError, match=r"Not a kubectl table header .*error: the server"):
        parse_table('error: the server doesn\'t have a resource type "svcs"\n')


def test_table_with_no_rows() -> None:
    assert parse_table("") == ()
    assert parse_table("No resources found in default namespace.\n") == ()
    assert parse_table("NAME   ENDPOINTS   AGE\n") == ()


def test_ports_cells() -> None:
    assert parse_ports("53/UDP,53/TCP,9153/TCP") == (
        PortSpec(53, None, "UDP"),
        PortSpec(53, None, "TCP"),
        PortSpec(9153, None, "TCP"),
    )
    assert parse_ports("<none>") == ()
    with pytest.raises(ValueError, match="Not a kubectl PORT\\(S\\) cell: '80:http/TCP'"):
        parse_ports("80:http/TCP")
