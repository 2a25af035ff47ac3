"""A jig per namespace: default objects, tweaked by the caller, created and awaited.

Every read and write goes through kubectl so that a failure can print a command
the user can run again.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from svclab.images.catalog import lab_images
from svclab.kubectl import Kubectl
from svclab.probes import Batch, curl_batch, dig_argv, wait_settled
from svclab.result import CommandResult
from svclab.wait import wait_for

Obj = dict[str, Any]
Tweak = Callable[[Obj], None]
MYAPP_LABELS = {"app": "myapp", "release": "v1", "env": "test"}
MYAPP_SELECTOR = {"app": "myapp", "release": "v1"}


@dataclass(frozen=True)
class Pod:
    name: str
    ip: str
    node: str
    ready: bool
    labels: dict[str, str]


def myapp_deployment(replicas: int = 3) -> Obj:
    """The seeds' Deployment: myapp-deploy, 3 replicas, port `http` on 80, readiness on /hostname.html."""
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "myapp-deploy"},
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": dict(MYAPP_SELECTOR)},
            "template": {
                "metadata": {"labels": dict(MYAPP_LABELS)},
                "spec": {
                    "terminationGracePeriodSeconds": 2,
                    "containers": [{
                        "name": "myapp", "image": lab_images().myapp_v1, "imagePullPolicy": "IfNotPresent",
                        "ports": [{"name": "http", "containerPort": 80}],
                        "readinessProbe": {"httpGet": {"path": "/hostname.html", "port": "http"},
                                           "periodSeconds": 1, "failureThreshold": 1},
                    }],
                },
            },
        },
    }


def service(name: str, type_: str = "ClusterIP", port: int = 80, target: int | str = 80) -> Obj:
    return {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"type": type_, "selector": dict(MYAPP_SELECTOR),
                 "ports": [{"name": "http", "port": port, "targetPort": target}]},
    }


def probe_pod(name: str = "probe", node: str | None = None) -> Obj:
    pod: Obj = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "probe", "probe": name}},
        "spec": {"terminationGracePeriodSeconds": 0,
                 "containers": [{"name": "probe", "image": lab_images().probe,
                                 "imagePullPolicy": "IfNotPresent", "command": ["sleep", "infinity"]}]},
    }
    if node:
        pod["spec"]["nodeSelector"] = {"kubernetes.io/hostname": node}
    return pod


class Jig:
    def __init__(self, kubectl: Kubectl, namespace: str, client_node: str | None = None) -> None:
        self.kubectl = kubectl
        self.namespace = namespace
        self.client_node = client_node  # where client pods run; None lets the scheduler choose

    def apply(self, obj: Obj, tweak: Tweak | None = None) -> Obj:
        obj = copy.deepcopy(obj)
        if tweak:
            tweak(obj)
        self.kubectl.apply(json.dumps(obj), self.namespace)
        return obj

    def get(self, kind: str, name: str) -> Obj:
        result: Obj = self.kubectl.get(kind, name, namespace=self.namespace)
        return result

    def run(self, *args: str) -> CommandResult:
        return self.kubectl.run(*args, "-n", self.namespace)

    # -- workloads ---------------------------------------------------------------
    def deploy_myapp(self, replicas: int = 3, tweak: Tweak | None = None) -> list[Pod]:
        self.apply(myapp_deployment(replicas), tweak)
        return self.wait_ready_pods(MYAPP_SELECTOR, replicas)

    def pods(self, selector: dict[str, str]) -> list[Pod]:
        sel = ",".join(f"{k}={v}" for k, v in selector.items())
        items = self.kubectl.get("pods", "-l", sel, namespace=self.namespace)["items"]
        out = []
        for item in items:
            if item["metadata"].get("deletionTimestamp"):
                continue
            conds = {c["type"]: c["status"] for c in item["status"].get("conditions", [])}
            out.append(Pod(item["metadata"]["name"], item["status"].get("podIP", ""),
                           item["spec"].get("nodeName", ""), conds.get("Ready") == "True",
                           item["metadata"].get("labels", {})))
        return sorted(out, key=lambda p: p.name)

    def wait_ready_pods(self, selector: dict[str, str], count: int, timeout: float = 120) -> list[Pod]:
        def ready() -> list[Pod] | None:
            pods = self.pods(selector)
            return pods if len(pods) == count and all(p.ready for p in pods) else None
        return wait_for(ready, what=f"{count} ready pods with {selector} in {self.namespace}",
                        timeout=timeout, describe=lambda: str(self.pods(selector)))

    # -- Services ------------------------------------------------------------------
    def create_service(self, name: str, tweak: Tweak | None = None, **kw: Any) -> Obj:
        self.apply(service(name, **kw), tweak)
        return self.get("service", name)

    def expose(self, name: str, pods: list[Pod], probe: Probe, tweak: Tweak | None = None, **kw: Any) -> str:
        """Create a Service for `pods`, wait for its Endpoints and until it answers; return its ClusterIP."""
        ip = str(self.create_service(name, tweak, **kw)["spec"]["clusterIP"])
        self.wait_endpoints(name, [p.ip for p in pods])
        probe.wait_answers(f"http://{ip}/hostname.html")
        return ip

    def endpoints(self, name: str) -> list[str]:
        """Ready endpoint addresses of a Service, from its EndpointSlices."""
        slices = self.kubectl.get("endpointslices", "-l", f"kubernetes.io/service-name={name}",
                                  namespace=self.namespace)["items"]
        return sorted(
            addr for s in slices for e in s.get("endpoints") or []
            if (e.get("conditions") or {}).get("ready", True) for addr in e.get("addresses", [])
        )

    def wait_endpoints(self, name: str, ips: list[str], timeout: float = 60) -> list[str]:
        want = sorted(ips)

        def matches() -> list[str] | None:
            now = self.endpoints(name)
            return now if now == want else None

        return wait_for(matches, what=f"Service {name} endpoints == {want}", timeout=timeout,
                        interval=0.5, describe=lambda: f"endpoints now: {self.endpoints(name)}")

    # -- the probe pod ---------------------------------------------------------------
    def start_probe(self, name: str = "probe") -> Probe:
        self.apply(probe_pod(name, self.client_node))
        self.wait_ready_pods({"probe": name}, 1, timeout=180)
        return Probe(self.kubectl, self.namespace, name)


@dataclass(frozen=True)
class Probe:
    """A long-lived client pod with curl and dig."""

    kubectl: Kubectl
    namespace: str
    name: str

    def run(self, argv: list[str] | tuple[str, ...], timeout: float = 60) -> CommandResult:
        return self.kubectl.exec(self.name, self.namespace, list(argv), timeout=timeout)

    def wait_answers(self, url: str, timeout: float = 30, full: bool = True) -> None:
        """Wait until a short batch to url succeeds in full (or, full=False, in part): kube-proxy
        has programmed the Service."""
        wait_settled(lambda argv, t: self.run(list(argv), t), url, what=f"{url} answers from {self.name}",
                     timeout=timeout, full=full)

    def wait_only(self, url: str, names: list[str], timeout: float = 30) -> None:
        """Wait until a small batch is answered by exactly `names`: the data plane caught up."""
        want = set(names)

        def caught_up() -> bool:
            batch = self.curl(url, 4 * len(names))
            return not batch.failed() and set(batch.counts()) == want

        wait_for(caught_up, what=f"{url} answered only by {sorted(want)}", timeout=timeout, interval=0.5)

    def curl(self, url: str, count: int) -> Batch:
        return curl_batch(lambda argv, t: self.run(list(argv), t), url, count)

    def dig(self, name: str, rtype: str = "A", server: str | None = None) -> CommandResult:
        return self.run(dig_argv(name, rtype, server), timeout=20)
