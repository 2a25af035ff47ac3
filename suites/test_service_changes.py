"""Changes to a live Service: its type, and the labels that tell kube-proxy to leave it alone.

One Service, `morph`, goes ExternalName -> ClusterIP -> NodePort -> ClusterIP -> ExternalName,
and after each change what it answers is checked: its DNS name (a CNAME to the lab zone, then its
ClusterIP), its ClusterIP reaching every pod, its node port on every node while it is a NodePort
and no longer once it is not. The tests run in file order and each starts where the last left it.

kube-proxy watches only Services without `service.kubernetes.io/service-proxy-name` (the Service
belongs to another proxy) and without `service.kubernetes.io/headless`: such a Service gets
endpoints, yet no answer on its ClusterIP, until the label goes.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from svclab.expect import answered, dns_answer, reaches_all, refuted, settle, unanswered, verify, verify_all
from svclab.plugin.fixtures import LAB_ZONE, MYAPP_SELECTOR, Jig, LiveLab, Pod, Probe

REQUESTS = 30
DNS_SETTLE = 45  # s: the lab's CoreDNS caches answers for 30 s
HTTP = [{"name": "http", "port": 80, "targetPort": 80}]
TARGET = f"my.{LAB_ZONE}"


def fqdn(jig: Jig) -> str:
    return f"morph.{jig.namespace}.svc.cluster.local"


def node_urls(lab: LiveLab, port: int) -> dict[str, str]:
    return {f"{n.name} ({lab.mode_on(n.name)})": f"http://{n.address}:{port}/hostname.html" for n in lab.nodes}


@pytest.fixture(scope="module")
def state(jig: Jig, probe: Probe, lab_zone: str, myapp: list[Pod]) -> dict[str, object]:
    """`morph` as an ExternalName first; the tests note the addresses it had on the way."""
    jig.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "morph"},
               "spec": {"type": "ExternalName", "externalName": TARGET}})
    return {}


def test_externalname_then_clusterip(jig: Jig, probe: Probe, myapp: list[Pod], state: dict[str, object]) -> None:
    name = fqdn(jig)
    verify(settle(lambda: dns_answer(probe.dig(name), name, {f"{TARGET}."}, "CNAME"), timeout=DNS_SETTLE)[0])
    svc = jig.patch_service("morph", {"spec": {"type": "ClusterIP", "externalName": None, "selector": MYAPP_SELECTOR,
                                               "ports": HTTP}})
    ip = state["ip"] = str(svc["spec"]["clusterIP"])
    jig.wait_endpoints("morph", [p.ip for p in myapp], facts=jig.facts("morph"))
    probe.wait_answers(f"http://{ip}/hostname.html", facts=jig.facts("morph"))
    verify_all([reaches_all(probe.curl(f"http://{ip}/hostname.html", REQUESTS), [p.name for p in myapp]),
                settle(lambda: dns_answer(probe.dig(name), name, {ip}), timeout=DNS_SETTLE)[0]], jig.facts("morph"))


def test_clusterip_to_nodeport_opens_the_node_port_everywhere(lab: LiveLab, jig: Jig, probe: Probe,
                                                               myapp: list[Pod], state: dict[str, object]) -> None:
    svc = jig.patch_service("morph", {"spec": {"type": "NodePort"}})
    port = state["port"] = int(svc["spec"]["ports"][0]["nodePort"])
    verdicts = [settle(lambda u=u: answered(probe.curl(u, 6)), timeout=60)[0].noted(where)  # type: ignore[misc]
                for where, u in node_urls(lab, port).items()]
    verdicts.append(reaches_all(probe.curl(f"http://{state['ip']}/hostname.html", REQUESTS), [p.name for p in myapp],
                                "the ClusterIP, kept, still reaches every pod"))
    verify_all(verdicts, jig.facts("morph"))


@pytest.mark.usefixtures("shells")
def test_back_to_clusterip_closes_the_node_port(lab: LiveLab, jig: Jig, probe: Probe, myapp: list[Pod],
                                                state: dict[str, object]) -> None:
    """No node answers the node port any more (none of the requests), the ClusterIP still does."""
    marks = lab.clocks(every_node=True)
    svc = jig.patch_service("morph", {"spec": {"type": "ClusterIP", "ports": HTTP}})
    verify(settle(lambda: lab.synced_since(marks), timeout=60)[0])
    port = int(state["port"])  # type: ignore[call-overload]
    verdicts = [settle(lambda u=u: unanswered(probe.curl(u, 6)), timeout=60)[0].noted(where)  # type: ignore[misc]
                for where, u in node_urls(lab, port).items()]
    verdicts.append(reaches_all(probe.curl(f"http://{svc['spec']['clusterIP']}/hostname.html", REQUESTS),
                                [p.name for p in myapp], "the ClusterIP, kept, still reaches every pod"))
    verify_all(verdicts, jig.facts("morph"))


@pytest.mark.usefixtures("shells")
def test_back_to_externalname_leaves_the_clusterip(lab: LiveLab, jig: Jig, probe: Probe, lab_zone: str,
                                                  state: dict[str, object]) -> None:
    name, old = fqdn(jig), str(state["ip"])
    marks = lab.clocks(every_node=True)
    jig.patch_service("morph", {"spec": {"type": "ExternalName", "externalName": TARGET, "selector": None,
                                         "clusterIP": None, "clusterIPs": None, "ports": None}})
    verify(settle(lambda: lab.synced_since(marks), timeout=60)[0])
    # a sync after the marks can be one that was already under way (seen on IPVS: the old address
    # still answered 3 of 3 right after it): the claim is "within 60 s"
    gone, seconds = settle(lambda: unanswered(probe.curl(f"http://{old}/hostname.html", 3)), timeout=60)
    verify_all([gone.noted(f"{old} was morph's ClusterIP; no answer {seconds:.1f} s after the change"),
                settle(lambda: dns_answer(probe.dig(name), name, {f"{TARGET}."}, "CNAME"), timeout=DNS_SETTLE)[0]],
               jig.facts("morph"))


LABELS = pytest.mark.parametrize("label", ["service.kubernetes.io/service-proxy-name=another-proxy",
                                           "service.kubernetes.io/headless="], ids=["service-proxy-name", "headless"])


def labelled(jig: Jig, probe: Probe, myapp: list[Pod], label: str) -> tuple[str, str]:
    """A Service for myapp carrying `label`, with its endpoints, once kube-proxy has seen past it
    (it gets no event for a Service it ignores: a Service made after it, answering, shows that)."""
    key, value = label.split("=", 1)
    name = "ignored-" + key.rsplit("/", 1)[1]
    svc = jig.create_service(name, tweak=lambda s: s["metadata"].update(labels={key: value}))
    jig.wait_endpoints(name, [p.ip for p in myapp], facts=jig.facts(name))
    jig.expose(f"{name}-after", myapp, probe)
    return name, f"http://{svc['spec']['clusterIP']}/hostname.html"


# From 1.36 kube-proxy reads service.kubernetes.io/headless only on EndpointSlices (where the
# EndpointSlice controller puts it for Services with clusterIP None), no longer on Services
# (kubernetes#134623; read at source: 1.35.4 filters Services by it, 1.36.3 and 1.37.2 do not).
HEADLESS_ON_SERVICES_UNTIL = 35
CHANGE_1_36 = ("from Kubernetes 1.36 kube-proxy no longer reads service.kubernetes.io/headless on a Service, only "
               "on the EndpointSlices the controller labels for headless Services (kubernetes#134623): a "
               "ClusterIP Service labelled so is proxied like any other")


def honoured(lab: LiveLab, label: str) -> bool:
    """Whether kube-proxy, at the server's version in force, leaves a Service with `label` alone."""
    return not label.startswith("service.kubernetes.io/headless") or lab.server_minor <= HEADLESS_ON_SERVICES_UNTIL


@LABELS
def test_kube_proxy_leaves_a_labelled_service_alone(lab: LiveLab, jig: Jig, probe: Probe, myapp: list[Pod],
                                                    label: str) -> None:
    """The labelled Service has ready endpoints and no answer (the headless label: up to 1.35;
    from 1.36 the same Service answers, and the verdict says why)."""
    name, url = labelled(jig, probe, myapp, label)
    note = f"labelled {label}, with {len(myapp)} ready endpoints"
    if honoured(lab, label):
        verdict = unanswered(probe.curl(url, 6)).noted(note)
        verify(replace(verdict, data={**verdict.data, "finding": "left alone"}), jig.facts(name))
    else:
        verdict = answered(probe.curl(url, 6)).noted(note).noted(CHANGE_1_36)
        verify(replace(verdict, data={**verdict.data, "finding": "proxied"}), jig.facts(name))


@LABELS
def test_negative_control_the_label_removed_the_service_answers(lab: LiveLab, jig: Jig, probe: Probe,
                                                               myapp: list[Pod], label: str) -> None:
    """The label is the cause: removed from the same Service, the same check fails."""
    if not honoured(lab, label):
        pytest.skip(f"Kubernetes 1.{lab.server_minor}: the label does not stop kube-proxy, nothing to take away "
                    "(kubernetes#134623)")
    name, url = labelled(jig, probe, myapp, label)
    key = label.split("=", 1)[0]
    jig.run("label", "service", name, f"{key}-").check(f"kubectl label service {name} {key}-")
    verify(settle(lambda: answered(probe.curl(url, 6)), timeout=60)[0], jig.facts(name))
    broken = refuted(unanswered(probe.curl(url, 6)), f"the label {key} removed")
    assert sum(broken.data["counts"].values()) == 6, broken.report()  # type: ignore[attr-defined]
