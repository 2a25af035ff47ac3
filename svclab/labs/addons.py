"""The lab's own add-ons: labnet (the pod network) and a CoreDNS that answers cluster.local and
the lab zone and forwards nothing off the machine; on the mixed IPVS lab, kube-proxy split
between the VM node and the kind nodes."""

from __future__ import annotations

import ipaddress

from svclab.core.assets import render
from svclab.core.catalog import lab_images
from svclab.core.kubectl import Kubectl
from svclab.core.spec import LabSpec
from svclab.core.wait import wait_for
from svclab.labs.vmnode import SUPPORT_MODE, split_kube_proxy

CLUSTER_DOMAIN = "cluster.local"
LAB_ZONE = "k8s.example.com"


def dns_server(spec: LabSpec) -> str:
    """kubeadm gives the kubelet the tenth address of the Service subnet as cluster DNS."""
    return str(ipaddress.ip_network(spec.service_subnet)[10])


def lab_zone_records(spec: LabSpec) -> dict[str, str]:
    """The lab zone answers the seeds' ExternalName target with the lab's first external IP."""
    return {"my": spec.external_ips[0]} if spec.external_ips else {}


def addons_manifest(spec: LabSpec) -> str:
    dns = {"domain": CLUSTER_DOMAIN, "lab_zone": LAB_ZONE, "server": dns_server(spec),
           "records": lab_zone_records(spec)}
    return render("lab", "addons", "addons.yaml.j2", images=lab_images(), dns=dns)


def addons_present(kubectl: Kubectl) -> bool:
    found = kubectl.run("get", "daemonset/labnet", "deployment/coredns", "-n", "kube-system", "-o", "name")
    return found.ok and len(found.stdout.split()) == 2


def install_addons(kubectl: Kubectl, spec: LabSpec, split: bool, timeout: int = 180) -> None:
    """Apply the add-ons (and split kube-proxy for the VM node), then wait for Ready nodes and
    CoreDNS (`timeout` s each: nodes that all run under emulation need longer)."""
    kubectl.apply(addons_manifest(spec))
    if split:
        split_kube_proxy(kubectl, SUPPORT_MODE)
    kubectl.run("wait", "--for=condition=Ready", "nodes", "--all", f"--timeout={timeout}s",
                timeout=timeout + 20).check("waiting for Ready nodes")
    wait_for(lambda: deployment_ready(kubectl, "coredns"), what="CoreDNS ready in kube-system", timeout=timeout,
             interval=2)


def deployment_ready(kubectl: Kubectl, name: str) -> bool:
    status = kubectl.get("deployment", name, namespace="kube-system").get("status", {})
    return bool(status.get("readyReplicas")) and status.get("readyReplicas") == status.get("replicas")
