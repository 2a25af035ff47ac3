"""The cluster's CoreDNS as svclab's DNS checks need it: answering the lab zone (the seeds'
ExternalName target) itself, and forwarding nothing off the lab.

svclab's own labs are built that way (lab/addons). A cluster svclab did not build usually
forwards to an upstream resolver: there the checks that would make it ask outside are skipped,
or, when the user opts in, the lab zone is added to its Corefile and the original text put back.
"""

from __future__ import annotations

import json
import re

from svclab.core.kubectl import Kubectl
from svclab.core.result import CommandResult
from svclab.core.spec import LabSpec
from svclab.labs.addons import LAB_ZONE, lab_zone_records

# a `forward` or `proxy` line of a Corefile, with its zone and first target
_FORWARD = re.compile(r"^\s*(?:forward|proxy)\s+(\S+)\s+(\S+)", re.MULTILINE)


def corefile(kubectl: Kubectl) -> str:
    """The Corefile of kube-system's coredns ConfigMap ("" when there is none)."""
    found = kubectl.run("get", "configmap", "coredns", "-n", "kube-system", "-o", "json")
    if not found.ok:
        return ""
    return str(json.loads(found.stdout).get("data", {}).get("Corefile", ""))


def forwards(text: str) -> list[str]:
    """Where the Corefile sends names it does not answer itself, as `zone -> target`."""
    return [f"{zone} -> {target}" for zone, target in _FORWARD.findall(text)]


def answers_lab_zone(text: str) -> bool:
    return re.search(rf"(^|\s){re.escape(LAB_ZONE)}(\.)?(:53)?\s", text) is not None


def with_lab_zone(text: str, spec: LabSpec) -> str:
    """The Corefile plus a server block that answers the lab zone from inline records
    (the hosts plugin: no file to mount, nothing forwarded; other names there are NXDOMAIN)."""
    hosts = "\n".join(f"        {address} {name}.{LAB_ZONE}" for name, address in lab_zone_records(spec).items())
    return f"{text.rstrip()}\n{LAB_ZONE}:53 {{\n    hosts {{\n{hosts}\n    }}\n}}\n"


def put_corefile(kubectl: Kubectl, text: str, why: str) -> None:
    """Write the Corefile (CoreDNS's `reload` plugin picks it up within its interval)."""
    patch = json.dumps({"data": {"Corefile": text}})
    kubectl.run("patch", "configmap", "coredns", "-n", "kube-system", "--type", "merge", "-p", patch).check(why)


def reloads(kubectl: Kubectl) -> tuple[dict[str, int], CommandResult]:
    """How many times each CoreDNS pod has logged a completed reload of its Corefile."""
    pods = kubectl.run("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns", "-o", "name")
    counts: dict[str, int] = {}
    for pod in pods.stdout.split():
        log = kubectl.run("logs", "-n", "kube-system", pod)
        counts[pod.split("/")[-1]] = log.stdout.count("Reloading complete")
    return counts, pods
