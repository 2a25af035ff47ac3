"""NodePort (seed 000): every node accepts the port, from inside and outside the cluster."""

from __future__ import annotations

import json

import pytest

from svclab.expect import Verdict, entries_present, holds, reaches_all, refuted, verify, verify_all
from svclab.expect.traffic import answered
from svclab.expect.verdict import settle
from svclab.plugin.fixtures import (
    NODE_PORT_RANGE,
    SETTLE_REQUESTS,
    Client,
    Jig,
    LiveLab,
    Pod,
    Probe,
    Shell,
    curl_batch,
    nodeport_entries,
    parse_listeners,
    parse_ports,
    parse_table,
)

SEED_NODE_PORT = 31682
PER_NODE = 60
KUBELET_PORT = 10250  # a socket every node has: "ss" that lists it can be trusted to list a node port


def node_port_holders(lab: LiveLab, port: int) -> Verdict:
    """Which Services in the whole cluster hold the node port (none, for it to be ours)."""
    listed = lab.kubectl.run("get", "services", "--all-namespaces", "-o", "json")
    items = json.loads(listed.stdout)["items"] if listed.ok else []
    holders = [f"{s['metadata']['namespace']}/{s['metadata']['name']}" for s in items
               for p in s["spec"].get("ports", []) if p.get("nodePort") == port]
    return Verdict(f"node port {port} is free", listed.ok and not holders, "no Service holds it",
                   ", ".join(holders) or "free", (listed,), data={"holders": holders})


@pytest.fixture(scope="module")
def nodeport(lab: LiveLab, jig: Jig, probe: Probe, myapp: list[Pod]) -> int:
    """The seeds' NodePort Service, answering on every node. A node that never answers fails
    each test here with every node's verdict and the checklist, not a bare time-out."""
    # the port is fixed (the seeds'): a module of an earlier run may still hold it while its
    # namespace is being deleted; a Service of the cluster's own means the port is not ours
    free, _ = settle(lambda: node_port_holders(lab, SEED_NODE_PORT), timeout=180, interval=2)
    holders = free.observed.split(", ") if not free.ok and free.observed != "free" else []
    if holders and not all(h.startswith("svclab-") for h in holders):
        pytest.skip(f"the seeds' node port {SEED_NODE_PORT} is held by {', '.join(holders)} on this cluster")
    verify(free)
    jig.create_service("myapp-nodeport", type_="NodePort",
                       tweak=lambda s: s["spec"]["ports"][0].update(nodePort=SEED_NODE_PORT))
    jig.wait_endpoints("myapp-nodeport", [p.ip for p in myapp], facts=jig.facts("myapp-nodeport"))
    verdicts = []
    for node in lab.nodes:
        url = f"http://{node.address}:{SEED_NODE_PORT}/hostname.html"
        verdict, _ = settle(lambda u=url: answered(probe.curl(u, SETTLE_REQUESTS)), timeout=60)  # type: ignore[misc]
        verdicts.append(verdict.noted(f"{node.name} runs kube-proxy in {lab.mode_on(node.name)} mode"))
    verify_all(verdicts, jig.facts("myapp-nodeport"))
    return SEED_NODE_PORT


def test_ports_column_shows_the_allocated_node_port(jig: Jig, myapp: list[Pod]) -> None:
    """The seeds' checklist reads PORT(S): it shows the port the API server chose."""
    svc = jig.create_service("myapp-nodeport-auto", type_="NodePort")
    port = svc["spec"]["ports"][0]["nodePort"]
    table = jig.run("get", "service", "myapp-nodeport-auto").check("kubectl get service")
    ports = [(p.port, p.node_port, p.protocol) for p in parse_ports(parse_table(table.stdout)[0]["PORT(S)"])]
    verify(holds("PORT(S) shows 80:<allocated node port>/TCP, inside the range",
                 ports == [(80, port, "TCP")] and NODE_PORT_RANGE[0] <= port <= NODE_PORT_RANGE[1],
                 f"[(80, {port}, 'TCP')], {port} in {NODE_PORT_RANGE[0]}-{NODE_PORT_RANGE[1]}", str(ports), table))


@pytest.mark.parametrize("port, refusal", [(29999, "not in the valid range"), (SEED_NODE_PORT, "already allocated")])
def test_api_refuses_out_of_range_or_duplicate_node_ports(jig: Jig, nodeport: int, port: int, refusal: str) -> None:
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"bad-{port}"},
           "spec": {"type": "NodePort", "selector": {"app": "myapp"}, "ports": [{"port": 80, "nodePort": port}]}}
    result = jig.kubectl.run("create", "-n", jig.namespace, "-f", "-", stdin=json.dumps(bad))
    verify(holds(f"the API server refuses nodePort {port}", not result.ok and refusal in result.stderr,
                 f"kubectl create fails: {refusal!r}", f"exit {result.rc}: {result.stderr.strip()[:200]}", result))


def per_node(lab: LiveLab, client: Client, myapp: list[Pod], port: int) -> list[Verdict]:
    out = []
    for node in lab.nodes:  # each node answers through its own data plane (a lab may mix modes)
        batch = curl_batch(client, f"http://{node.address}:{port}/hostname.html", PER_NODE)
        name = f"{node.name} ({lab.mode_on(node.name)}) reaches every pod"
        out.append(reaches_all(batch, [p.name for p in myapp], name))
    return out


def test_every_node_reaches_every_pod_from_inside(lab: LiveLab, jig: Jig, probe: Probe, myapp: list[Pod],
                                                  nodeport: int) -> None:
    verify_all(per_node(lab, probe, myapp, nodeport), jig.facts("myapp-nodeport"))


def test_every_node_reaches_every_pod_from_outside(lab: LiveLab, jig: Jig, outside: Client, myapp: list[Pod],
                                                   nodeport: int) -> None:
    verify_all(per_node(lab, outside, myapp, nodeport), jig.facts("myapp-nodeport"))


def test_no_process_listens_on_the_node_port(lab: LiveLab, shells: dict[str, Shell], nodeport: int) -> None:
    """Since Kubernetes 1.24 kube-proxy holds no NodePort socket (the seeds' 2020 cluster did):
    the data plane alone accepts the port. The listing must show the kubelet's own socket first."""
    if lab.server_minor < 24:
        pytest.skip(f"the API server is 1.{lab.server_minor}: kube-proxy still opens NodePort sockets there")
    verdicts = []
    for node in lab.nodes:
        result = shells[node.name].run(["ss", "-lntpH"])
        found = parse_listeners(result.stdout) if result.ok else ()
        known = any(x.port == KUBELET_PORT for x in found)
        held = [f"{x.address}:{x.port} {x.process}" for x in found if x.port == nodeport]
        verdicts.append(holds(f"no listener on {node.name}:{nodeport}", result.ok and known and not held,
                              f"ss lists the kubelet on :{KUBELET_PORT} and no socket on :{nodeport}",
                              f"kubelet's socket {'listed' if known else 'NOT listed'}; on {nodeport}: {held}", result))
    verify_all(verdicts)


def test_data_plane_on_every_node_holds_the_node_port(lab: LiveLab, shells: dict[str, Shell], jig: Jig,
                                                      nodeport: int) -> None:
    verify_all([entries_present(nodeport_entries(shells[n.name], n.name, lab.mode_on(n.name), n.address, nodeport))
                for n in lab.nodes], jig.facts("myapp-nodeport"))


def test_negative_control_a_target_port_nobody_listens_on_is_refused(lab: LiveLab, shells: dict[str, Shell], jig: Jig,
                                                                     probe: Probe, myapp: list[Pod]) -> None:
    """The data plane holds the port (shown first), yet the pods do not listen on the target:
    the same per-node check fails, every request refused (curl exit 7), none timed out."""
    svc = jig.create_service("myapp-nodeport-deaf", type_="NodePort", target=8080)
    port = svc["spec"]["ports"][0]["nodePort"]
    jig.wait_endpoints("myapp-nodeport-deaf", [p.ip for p in myapp])
    node = lab.dataplane[0]
    present, _ = settle(lambda: entries_present(
        nodeport_entries(shells[node.name], node.name, lab.mode_on(node.name), node.address, port)),
        timeout=60)
    verify(present)
    batch = curl_batch(probe, f"http://{node.address}:{port}/hostname.html", 6)
    broken = refuted(reaches_all(batch, [p.name for p in myapp]), "a targetPort no pod listens on")
    assert broken.data["curl_exits"] == {"7": 6}, broken.report()
