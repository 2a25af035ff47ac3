"""Zero-loss drills (issue 15): a constant stream from the probe pod through a ClusterIP, 10
requests a second (each on a new connection, each bounded to 1 s), while the workload or the
cluster changes under it. A rolling update done right (readiness probe, maxUnavailable 0, the old
pods serving for a while after SIGTERM) is where Kubernetes promises that nothing is lost: one
lost request fails it. Elsewhere (scaling down, a pod deleted, kube-proxy restarted on the
client's node, a worker stopped) the loss is the finding: how many, of which kind, and how long
until the stream is clean again. Off by default, with the latency benchmark: `-m latency`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from svclab.expect import Verdict, refuted, stream_kept, verify
from svclab.plugin.fixtures import Jig, LiveLab, LocalShell, Probe, Shell, as_app, lab_images, myapp_deployment
from svclab.plugin.latency import RATE, TimedClient, node_offset, stream_loss, stream_through

APP = {"app": "zl"}
DRAIN = 8  # s an old pod keeps serving after SIGTERM: longer than kube-proxy takes to drop it
START_DELAY = 5  # s the application needs before it can serve (the readiness probe covers it)

pytestmark = pytest.mark.latency


def workload(version: str = "v1", replicas: int = 3, readiness: bool = True) -> Callable[[dict[str, Any]], None]:
    def more(obj: dict[str, Any]) -> None:
        spec = obj["spec"]
        spec["replicas"] = replicas
        spec["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
        pod = spec["template"]["spec"]
        pod["terminationGracePeriodSeconds"] = DRAIN + 5
        box = pod["containers"][0]
        box["image"] = lab_images().myapp_v2 if version == "v2" else lab_images().myapp_v1
        box["env"] = [{"name": "MYAPP_DRAIN_SECONDS", "value": str(DRAIN)},
                      {"name": "MYAPP_START_DELAY_SECONDS", "value": str(START_DELAY)}]
        if not readiness:
            box.pop("readinessProbe", None)
    return as_app("zl", APP, more)


@pytest.fixture(scope="module")
def client(jig: Jig, probe: Probe, shells: dict[str, Shell]) -> TimedClient:
    node = shells[jig.pods({"probe": probe.name})[0].node]
    return TimedClient(probe.shell, node, node_offset(node, local=False))


@pytest.fixture(scope="module")
def url(jig: Jig, probe: Probe) -> str:
    jig.apply(myapp_deployment(3), workload())
    jig.wait_ready_pods(APP, 3)
    ip = jig.create_service("zl", tweak=lambda s: s["spec"].update(selector=APP))["spec"]["clusterIP"]
    address = f"http://{ip}/hostname.html"
    probe.wait_answers(address)
    return address


def drill(jig: Jig, client: TimedClient, url: str, name: str, change: Callable[[], object], seconds: float,
          promised: bool) -> Verdict:
    run, change_at, change_done = stream_through(client, url, change, seconds)
    assert run is not None, f"{name}: the stream's run did not come back"
    return stream_kept(name, stream_loss(run, change_at, change_done), RATE, promised)


def settled(jig: Jig, probe: Probe, url: str, replicas: int = 3) -> None:
    jig.apply(myapp_deployment(replicas), workload(replicas=replicas))
    jig.wait_ready_pods(APP, replicas)
    probe.wait_only(url, [p.name for p in jig.pods(APP)])


def test_a_rolling_update_done_right_loses_no_request(jig: Jig, probe: Probe, client: TimedClient, url: str) -> None:
    verify(drill(jig, client, url, "rolling update v1 -> v2, done right",
                 lambda: jig.apply(myapp_deployment(3), workload("v2")), 90, promised=True))
    settled(jig, probe, url)


def test_negative_control_without_its_readiness_probe_a_rolling_update_loses_requests(
        jig: Jig, probe: Probe, client: TimedClient, url: str) -> None:
    """The readiness probe is the real cause: without it, each new pod takes requests for the
    START_DELAY seconds it cannot serve, and the same check fails, counting them."""
    try:
        verdict = drill(jig, client, url, "rolling update v1 -> v2, done right",
                        lambda: jig.apply(myapp_deployment(3), workload("v2", readiness=False)), 90, promised=True)
        refuted(verdict, "the workload without its readiness probe")
    finally:
        settled(jig, probe, url)


def test_scaling_down_3_to_1(jig: Jig, probe: Probe, client: TimedClient, url: str) -> None:
    verify(drill(jig, client, url, "scale down 3 -> 1",
                 lambda: jig.run("scale", "deployment/zl", "--replicas=1").check("kubectl scale"), 40,
                 promised=False))
    settled(jig, probe, url)


def test_deleting_a_pod(jig: Jig, probe: Probe, client: TimedClient, url: str) -> None:
    victim = jig.pods(APP)[0].name
    verify(drill(jig, client, url, "a pod deleted",
                 lambda: jig.run("delete", "pod", victim, "--wait=false").check("kubectl delete pod"), 40,
                 promised=False))
    settled(jig, probe, url)


@pytest.mark.changes_cluster("deletes the kube-proxy pod on the probe's node (its DaemonSet makes a new one)")
def test_restarting_kube_proxy_on_the_clients_node(lab: LiveLab, jig: Jig, probe: Probe, client: TimedClient,
                                                   url: str) -> None:
    node = jig.pods({"probe": probe.name})[0].node
    pods = lab.kubectl.run("get", "pods", "-n", "kube-system", "-l", "k8s-app in (kube-proxy, kube-proxy-host)",
                           "-o", "name", "--field-selector", f"spec.nodeName={node}").stdout.split()
    if not pods:
        pytest.skip(f"no kube-proxy pod on {node} (a cluster that runs kube-proxy otherwise)")
    verify(drill(jig, client, url, "kube-proxy restarted on the client's node",
                 lambda: lab.kubectl.run("delete", "-n", "kube-system", pods[0]).check("kubectl delete kube-proxy"),
                 40, promised=False))
    settled(jig, probe, url)


def test_stopping_a_worker_node(lab: LiveLab, jig: Jig, probe: Probe, client: TimedClient, url: str) -> None:
    """A worker that runs a backend stops dead (its container paused): its pods stop answering
    until the node controller marks them not ready. The probe's node (whose kube-proxy routes the
    stream) and the control plane stay up."""
    client_node = jig.pods({"probe": probe.name})[0].node
    workers = [p.node for p in jig.pods(APP) if p.node != client_node and p.node.startswith(f"{lab.spec.name}-worker")]
    if not workers or lab.spec.provider != "kind":
        pytest.skip("no kind worker runs a backend away from the probe's node")
    host, worker = LocalShell(), workers[0]
    try:
        verify(drill(jig, client, url, "a worker node stopped",
                     lambda: host.run(["docker", "pause", worker]).check("docker pause"), 120, promised=False))
    finally:
        host.run(["docker", "unpause", worker])
    settled(jig, probe, url)
