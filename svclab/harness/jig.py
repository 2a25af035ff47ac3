"""A jig per namespace: default objects, tweaked by the caller, created and awaited.

Every read and write goes through kubectl so that a failure can print a command the user can
run again; waits on pods and EndpointSlices follow the API's watch (observe/watch.py) and then
quote the kubectl line that shows the same state.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from svclab.core.assets import render
from svclab.core.catalog import lab_images
from svclab.core.kubectl import Kubectl
from svclab.core.result import CommandResult
from svclab.core.shell import PodShell, Shell, enter
from svclab.expect.traffic import answered, reaches_all
from svclab.expect.verdict import Facts, Verdict, holds, settle, verify
from svclab.harness.tweaks import Obj, Tweak
from svclab.observe.probes import SETTLE_REQUESTS, Batch, curl_batch, dig_argv
from svclab.observe.watch import State, Watcher

MYAPP_SELECTOR = {"app": "myapp", "release": "v1"}
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
ABSENCE_FLOOR = 10.0  # s: the shortest window in which an absence counts


@dataclass(frozen=True)
class Pod:
    name: str
    ip: str
    node: str
    ready: bool
    labels: dict[str, str]


def manifest(*parts: str, **values: object) -> Obj:
    """One object from a manifest under fixtures/ (a jinja2 template, as a user would write it)."""
    obj: Obj = yaml.safe_load(render("fixtures", *parts, images=lab_images(), **values))
    return obj


def myapp_deployment(replicas: int = 3) -> Obj:
    """The seeds' Deployment: myapp-deploy, 3 replicas, port `http` on 80, readiness on /hostname.html."""
    return manifest("myapp", "deployment.yaml.j2", replicas=replicas)


def service(name: str, type_: str = "ClusterIP", port: int = 80, target: int | str = 80) -> Obj:
    return manifest("myapp", "service.yaml.j2", name=name, type=type_, port=port, target=target)


def probe_pod(name: str = "probe", node: str | None = None) -> Obj:
    return manifest("probe", "pod.yaml.j2", name=name, node=node)


def label_selector(selector: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in selector.items())


def live_pods(items: list[Obj]) -> list[Pod]:
    """The pods that are not being deleted, by name, from kubectl's or the API's JSON."""
    out = []
    for item in items:
        if item["metadata"].get("deletionTimestamp"):
            continue
        status = item.get("status") or {}
        conds = {c["type"]: c["status"] for c in status.get("conditions") or []}
        out.append(Pod(item["metadata"]["name"], status.get("podIP", ""), item["spec"].get("nodeName", ""),
                       conds.get("Ready") == "True", item["metadata"].get("labels", {})))
    return sorted(out, key=lambda p: p.name)


def ready_addresses(slices: list[Obj]) -> list[str]:
    """The ready endpoint addresses in a Service's EndpointSlices (ready unset counts as ready)."""
    return sorted(addr for s in slices for e in s.get("endpoints") or []
                  if (e.get("conditions") or {}).get("ready", True) for addr in e.get("addresses", []))


class Timings(dict[str, float]):
    """Seconds the jig's last waits took ("pods", "endpoints", "answers")."""

    def absence_window(self, floor: float = ABSENCE_FLOOR) -> float:
        """How long to wait for something to go away: three times the longest wait measured for
        it to appear here (endpoints, then answers), and never less than `floor` seconds."""
        return max(floor, 3 * sum(self.get(k, 0.0) for k in ("endpoints", "answers")))


def wait_rollout(jig: Jig, name: str, timeout: int = 180) -> None:
    """Wait until the Deployment's current template is what runs. Counting ready pods right after
    a template change is not enough: the watch can see the old pods, still ready, before the
    controller has made the new ones."""
    done = jig.kubectl.run("rollout", "status", f"deployment/{name}", "-n", jig.namespace, f"--timeout={timeout}s",
                           timeout=timeout + 20)
    last = (done.stdout.strip().splitlines() or [done.stderr.strip()])[-1]
    verify(holds(f"deployment {name} rolled out", done.ok, "rollout complete", last[-200:], done),
           lambda: warning_events(jig))


def warning_events(jig: Jig) -> str:
    """The namespace's recent warning events: why pods do not start or get ready."""
    got = jig.run("get", "events", "--field-selector", "type=Warning", "--sort-by=.lastTimestamp")
    return "\n".join(f"    {line}" for line in got.stdout.splitlines()[-12:]) or "    no warning events"


class Jig:
    def __init__(self, kubectl: Kubectl, namespace: str, client_node: str | None = None,
                 facts_for: Callable[[str], Facts] | None = None,
                 enter_from: Callable[[str], Shell | None] | None = None) -> None:
        self.kubectl = kubectl
        self.facts_for = facts_for  # Service name -> the troubleshooting checklist, printed on failure
        self.namespace = namespace
        self.client_node = client_node  # where client pods run; None lets the scheduler choose
        self.enter_from = enter_from  # node -> its SSH shell, to enter probes there (core/shell.py)
        self.timings = Timings()  # seconds the last waits took, to size absence windows
        self.watcher = Watcher(kubectl.kubeconfig)
        self.applied: dict[str, CommandResult] = {}  # "Kind/name" -> its last kubectl apply (server warnings)

    def apply(self, obj: Obj, tweak: Tweak | None = None) -> Obj:
        obj = copy.deepcopy(obj)
        if tweak:
            tweak(obj)
        self.applied[f"{obj.get('kind')}/{obj['metadata']['name']}"] = self.kubectl.apply(
            json.dumps(obj), self.namespace)
        if obj.get("kind") == "Deployment":
            wait_rollout(self, obj["metadata"]["name"])
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
        items = self.kubectl.get("pods", "-l", label_selector(selector), namespace=self.namespace)["items"]
        return live_pods(items)

    def wait_ready_pods(self, selector: dict[str, str], count: int, timeout: float = 120) -> list[Pod]:
        """Wait (a watch on the pods) for exactly `count` ready pods; giving up fails the test with
        what was seen and the kubectl line that shows it."""
        def done(state: State) -> bool:
            pods = live_pods(list(state.values()))
            return len(pods) == count and all(p.ready for p in pods)

        state, seconds, ok = self.watcher.pods(self.namespace, label_selector(selector), done, timeout)
        pods = live_pods(list(state.values()))
        shown = self.run("get", "pods", "-l", label_selector(selector), "-o", "wide")
        listed = ", ".join(f"{p.name} on {p.node or '?'} {'ready' if p.ready else 'NOT ready'}" for p in pods)
        verdict = Verdict(f"{count} ready pods with {selector}", ok, f"{count} pods, all ready",
                          f"{len(pods)} pods, {sum(p.ready for p in pods)} ready: {listed}", (shown,))
        verify(verdict if ok else verdict.noted(f"still not so after watching {timeout:.0f} s"),
               lambda: warning_events(self))
        self.timings["pods"] = seconds
        return pods

    # -- Services ------------------------------------------------------------------
    def create_service(self, name: str, tweak: Tweak | None = None, **kw: Any) -> Obj:
        self.apply(service(name, **kw), tweak)
        return self.get("service", name)

    def expose(self, name: str, pods: list[Pod], probe: Probe, tweak: Tweak | None = None, **kw: Any) -> str:
        """Create a Service for `pods`, wait for its Endpoints and until it answers; return its ClusterIP."""
        ip = str(self.create_service(name, tweak, **kw)["spec"]["clusterIP"])
        facts = self.facts(name)
        self.wait_endpoints(name, [p.ip for p in pods], facts=facts)
        self.timings["answers"] = probe.wait_answers(f"http://{ip}/hostname.html", facts=facts)
        return ip

    def facts(self, name: str) -> Facts | None:
        """The troubleshooting checklist for Service `name`, when the jig was given one."""
        return self.facts_for(name) if self.facts_for else None

    def patch_service(self, name: str, patch: Obj) -> Obj:
        self.run("patch", "service", name, "--type", "merge", "-p", json.dumps(patch)).check(
            f"kubectl patch service {name}")
        return self.get("service", name)

    def endpoints(self, name: str) -> list[str]:
        """Ready endpoint addresses of a Service, from its EndpointSlices."""
        slices = self.kubectl.get("endpointslices", "-l", f"{SERVICE_NAME_LABEL}={name}",
                                  namespace=self.namespace)["items"]
        return ready_addresses(slices)

    def endpoint_conditions(self, name: str) -> tuple[CommandResult, dict[str, dict[str, bool]]]:
        """Every endpoint address of the Service with its conditions (ready, serving, terminating)."""
        shown = self.run("get", "endpointslices", "-l", f"{SERVICE_NAME_LABEL}={name}", "-o", "json")
        items = json.loads(shown.stdout)["items"] if shown.ok else []
        return shown, {addr: {k: bool(v) for k, v in (e.get("conditions") or {}).items()}
                       for s in items for e in s.get("endpoints") or [] for addr in e.get("addresses", [])}

    def wait_endpoints(self, name: str, ips: list[str], timeout: float = 60, facts: Facts | None = None) -> list[str]:
        """Wait (a watch on the EndpointSlices) until the Service's ready endpoints are exactly
        `ips`; giving up fails the test."""
        want = sorted(ips)
        state, seconds, ok = self.watcher.endpoint_slices(
            self.namespace, f"{SERVICE_NAME_LABEL}={name}", lambda st: ready_addresses(list(st.values())) == want,
            timeout)
        now = ready_addresses(list(state.values()))
        shown = self.run("get", "endpointslices", "-l", f"{SERVICE_NAME_LABEL}={name}", "-o", "wide")
        verdict = Verdict(f"Service {name}'s ready endpoints", ok, str(want), str(now), (shown,),
                          data={"endpoints": now})
        verify(verdict if ok else verdict.noted(f"still not so after watching {timeout:.0f} s"), facts)
        self.timings["endpoints"] = seconds
        return want

    # -- the probe pod ---------------------------------------------------------------
    def start_probe(self, name: str = "probe") -> Probe:
        self.apply(probe_pod(name, self.client_node))
        pod = self.wait_ready_pods({"probe": name}, 1, timeout=180)[0]
        node = self.enter_from(pod.node) if self.enter_from else None
        entered = enter(node, name, self.get("pod", name)["status"]["containerStatuses"][0]["containerID"]) \
            if node else None
        return Probe(self.kubectl, self.namespace, name, entered)


@dataclass(frozen=True)
class Probe:
    """A long-lived client pod with curl and dig."""

    kubectl: Kubectl
    namespace: str
    name: str
    entered: Shell | None = None  # the pod entered over its node's SSH session, when it runs on such a node

    @property
    def shell(self) -> Shell:
        return self.entered or PodShell(self.kubectl, self.namespace, self.name)

    @property
    def host(self) -> str:
        return self.shell.host

    def run(self, argv: Sequence[str], *, timeout: float = 60.0, stdin: str | None = None) -> CommandResult:
        return self.shell.run(argv, timeout=timeout, stdin=stdin)

    def wait_answers(self, url: str, timeout: float = 60, full: bool = True, facts: Facts | None = None) -> float:
        """Wait until a short batch to url is answered in full (or, full=False, in part), not just
        once: kube-proxy writes IPVS, ipsets and iptables one after the other, and until the last
        is in, some paths still fail (in the IPVS VM for seconds). Giving up fails the test with
        the last batch. Returns the seconds it took."""
        verdict, seconds = settle(lambda: answered(self.curl(url, SETTLE_REQUESTS), full), timeout=timeout)
        verify(verdict, facts)
        return seconds

    def wait_only(self, url: str, names: list[str], timeout: float = 60, facts: Facts | None = None) -> float:
        """Wait until a batch is answered by exactly `names`: the data plane caught up. Ten
        requests a pod: with 4 a pod, a removed endpoint still programmed for a quarter of the
        requests went unseen 3 % of the time ((3/4)^12), and CI's next batch timed out on it
        (conntrack showed the SYN NATed to the removed pod); with 10, (3/4)^30 < 0.02 %."""
        verdict, seconds = settle(lambda: reaches_all(self.curl(url, 10 * len(names)), names,
                                                      f"{url} answered only by {sorted(names)}"), timeout=timeout)
        verify(verdict, facts)
        return seconds

    def curl(self, url: str, count: int) -> Batch:
        return curl_batch(self, url, count)

    def dig(self, name: str, rtype: str = "A", server: str | None = None) -> CommandResult:
        return self.run(dig_argv(name, rtype, server), timeout=20)
