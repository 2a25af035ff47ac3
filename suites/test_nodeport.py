"""NodePort (seed 000): every node accepts the port, from inside and outside the cluster."""

from __future__ import annotations

import pytest

from svclab.expect import holds, reaches_all, verify
from svclab.facts import service_facts
from svclab.fixtures import LiveLab
from svclab.jig import Jig, Pod, Probe
from svclab.parsers import find_virtual, parse_ipvsadm, parse_listeners, parse_ports, parse_table
from svclab.spec import NODE_PORT_RANGE

SEED_NODE_PORT = 31682
PER_NODE = 60


@pytest.fixture(scope="module")
def nodeport(lab: LiveLab, jig: Jig, probe: Probe, myapp: list[Pod]) -> int:
    jig.create_service("myapp-nodeport", type_="NodePort",
                       tweak=lambda s: s["spec"]["ports"][0].update(nodePort=SEED_NODE_PORT))
    jig.wait_endpoints("myapp-nodeport", [p.ip for p in myapp])
    for node in lab.nodes:
        probe.wait_answers(f"http://{node.address}:{SEED_NODE_PORT}/hostname.html")
    return SEED_NODE_PORT


def test_ports_column_shows_the_node_port(jig: Jig, nodeport: int) -> None:
    table = jig.run("get", "service", "myapp-nodeport").check("kubectl get service")
    ports = parse_ports(parse_table(table.stdout)[0]["PORT(S)"])
    assert [(p.port, p.node_port, p.protocol) for p in ports] == [(80, nodeport, "TCP")], table.stdout


def test_allocated_node_port_is_inside_the_range(jig: Jig, myapp: list[Pod]) -> None:
    svc = jig.create_service("myapp-nodeport-auto", type_="NodePort")
    port = svc["spec"]["ports"][0]["nodePort"]
    assert NODE_PORT_RANGE[0] <= port <= NODE_PORT_RANGE[1]


@pytest.mark.parametrize("port, refusal", [(29999, "not in the valid range"),
                                           (SEED_NODE_PORT, "already allocated")])
def test_api_refuses_out_of_range_or_duplicate_node_ports(jig: Jig, nodeport: int, port: int,
                                                          refusal: str) -> None:
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"bad-{port}"},
           "spec": {"type": "NodePort", "selector": {"app": "myapp"},
                    "ports": [{"port": 80, "nodePort": port}]}}
    import json

    result = jig.kubectl.run("create", "-n", jig.namespace, "-f", "-", stdin=json.dumps(bad))
    assert not result.ok and refusal in result.stderr, result.describe()


def test_every_node_reaches_every_pod_from_inside(lab: LiveLab, jig: Jig, probe: Probe,
                                                  myapp: list[Pod], nodeport: int) -> None:
    for node in lab.nodes:  # each node answers through its own data plane (a lab may mix modes)
        batch = probe.curl(f"http://{node.address}:{nodeport}/hostname.html", PER_NODE)
        verify(reaches_all(batch, [p.name for p in myapp], f"{node.name} ({lab.mode_on(node.name)}) reaches every pod"),
               service_facts(lab, jig, "myapp-nodeport"))


def test_every_node_reaches_every_pod_from_outside(lab: LiveLab, jig: Jig, outside: object,
                                                   myapp: list[Pod], nodeport: int) -> None:
    from svclab.probes import curl_batch

    for node in lab.nodes:
        batch = curl_batch(outside.run, f"http://{node.address}:{nodeport}/hostname.html",  # type: ignore[attr-defined]
                           PER_NODE)
        verify(reaches_all(batch, [p.name for p in myapp], f"{node.name} ({lab.mode_on(node.name)}) reaches every pod"),
               service_facts(lab, jig, "myapp-nodeport"))


def test_no_process_listens_on_the_node_port(lab: LiveLab, nodeport: int) -> None:
    """Since Kubernetes 1.24 kube-proxy holds no NodePort socket (the seeds' 2020 cluster did):
    the data plane alone accepts the port."""
    assert lab.shell is not None and lab.spec.minor >= 24
    for node in lab.nodes:
        result = lab.shell.node_run(node.name, ["ss", "-lntpH"])
        held = [f"{x.address}:{x.port} {x.process}" for x in parse_listeners(result.stdout) if x.port == nodeport]
        verify(holds(f"no listener on {node.name}:{nodeport}", result.ok and not held,
                     "no socket holds the node port (Kubernetes >= 1.24)", f"listeners: {held}", result))


def test_data_plane_on_every_node_holds_the_node_port(lab: LiveLab, nodeport: int) -> None:
    assert lab.shell is not None
    for node in lab.nodes:
        mode = lab.mode_on(node.name)  # a lab may run another mode on some nodes, and says so
        if mode == "ipvs":
            dump = lab.shell.node_run(node.name, ["ipvsadm", "-Ln"])
            found = find_virtual(parse_ipvsadm(dump.stdout), node.address, nodeport) is not None
        elif mode == "nftables":
            dump = lab.shell.node_run(node.name, ["nft", "list", "table", "ip", "kube-proxy"])
            found = f"{nodeport}" in dump.stdout and "nodeport" in dump.stdout.lower()
        else:
            dump = lab.shell.node_run(node.name, ["iptables-save", "-t", "nat"])
            found = any("KUBE-NODEPORTS" in line and f"--dport {nodeport}" in line
                        for line in dump.stdout.splitlines())
        verify(holds(f"{mode} data plane on {node.name} holds node port {nodeport}", found,
                     f"a {mode} entry for port {nodeport}", "found" if found else "no entry", dump))


def test_negative_control_target_port_nobody_listens_on_is_refused(lab: LiveLab, jig: Jig, probe: Probe,
                                                                   myapp: list[Pod]) -> None:
    svc = jig.create_service("myapp-nodeport-deaf", type_="NodePort", target=8080)
    port = svc["spec"]["ports"][0]["nodePort"]
    jig.wait_endpoints("myapp-nodeport-deaf", [p.ip for p in myapp])
    batch = probe.curl(f"http://{lab.dataplane[0].address}:{port}/hostname.html", 6)
    with pytest.raises(AssertionError) as failure:
        verify(reaches_all(batch, [p.name for p in myapp]))
    assert "failures: 6" in str(failure.value), str(failure.value)
