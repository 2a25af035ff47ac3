"""The lab spec: what lab to build, validated before anything is provisioned."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from svclab.core.catalog import PINS, pins_for
from svclab.core.errors import SpecError

PROXY_MODES = ("ipvs", "iptables", "nftables")
# The IPVS schedulers kube-proxy passes to the kernel (the seeds name rr, lc, dh, sh, sed, nq).
IPVS_SCHEDULERS = ("rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq")
KUBERNETES_VERSION = PINS.kubernetes  # the default of the pin table in svclab.core.catalog
MAX_NODES = 5  # a 2-core machine runs three nodes well; five is the ceiling we accept
NODE_PORT_RANGE = (30000, 32767)


@dataclass(frozen=True)
class LabSpec:
    """Everything that decides what the lab looks like.

    `network` is the Docker network the nodes join; nodes get addresses from
    `node_range` (its lower half by default) and external / LoadBalancer IPs come
    from the rest of it, so that every address a test sends to belongs to the lab.
    """

    provider: str = "kind"
    name: str = "svclab"
    nodes: int = 3
    proxy_mode: str = "ipvs"
    ipvs_scheduler: str = "rr"
    pod_subnet: str = "10.244.0.0/16"
    service_subnet: str = "10.96.0.0/12"
    network: str = "172.29.0.0/24"
    node_range: str = "172.29.0.0/25"
    external_ips: tuple[str, ...] = ("172.29.0.240",)
    lb_pool: str = "172.29.0.200-172.29.0.219"
    kubernetes_version: str = KUBERNETES_VERSION
    node_image: str = ""
    keep: bool = False
    target: str = ""  # provider argument: a kubeconfig path for `existing`
    # on a cluster svclab did not build, checks that change cluster-scoped state (MetalLB,
    # kube-proxy's ConfigMap and restarts) run only when the user opts in
    allow_cluster_changes: bool = False
    image_prefix: str = ""  # where a cluster of the user's gets the workloads' images (catalog)

    @property
    def image(self) -> str:
        return self.node_image or f"svclab.local/node:{self.kubernetes_version}"

    @property
    def workers(self) -> int:
        return self.nodes - 1

    @property
    def minor(self) -> int:
        return int(self.kubernetes_version.split(".")[1])

    def lb_addresses(self) -> tuple[str, ...]:
        first, last = (ipaddress.ip_address(p) for p in self.lb_pool.split("-"))
        return tuple(
            str(ipaddress.ip_address(i)) for i in range(int(first), int(last) + 1)
        )


# The Vagrant lab's own defaults: the seeds' lab network (172.16.1.0/24, nodes .110-.112);
# externalIPs and the LoadBalancer pool on that network, as with kind. The seeds' simulated
# external network (10.0.0.0/24) is not made: the lab routes its external IP to a node instead.
PROVIDER_DEFAULTS: dict[str, dict[str, object]] = {
    "vagrant": {"name": "svclab-vagrant", "network": "172.16.1.0/24", "node_range": "172.16.1.96/27",
                "external_ips": ("172.16.1.240",), "lb_pool": "172.16.1.200-172.16.1.219"},
}
INT_FIELDS = {"nodes"}
BOOL_FIELDS = {"keep", "allow_cluster_changes"}
TUPLE_FIELDS = {"external_ips"}


def parse_lab(value: str) -> tuple[str, str]:
    """Split a `--lab` value such as `kind`, `kind:mylab` or `existing:/path/kubeconfig`."""
    provider, _, target = value.partition(":")
    return provider.strip(), target.strip()


def from_settings(settings: Mapping[str, object]) -> LabSpec:
    """Build a spec from option/ini/env values (strings or typed) and validate it."""
    known = {f.name for f in fields(LabSpec)}
    values: dict[str, object] = {}
    for key, raw in settings.items():
        if raw is None or raw == "":
            continue
        if key == "lab":
            provider, target = parse_lab(str(raw))
            values["provider"] = provider
            if provider == "kind" and target:
                values["name"] = target
            elif target:
                values["target"] = target
            continue
        if key not in known:
            raise SpecError(f"Unknown lab setting {key!r}; known settings: {', '.join(sorted(known))}.")
        values[key] = _coerce(key, raw)
    defaults = PROVIDER_DEFAULTS.get(str(values.get("provider", "kind")), {})
    return validate(replace(LabSpec(), **{**defaults, **values}))  # type: ignore[arg-type]


def _coerce(key: str, raw: object) -> object:
    if key in INT_FIELDS:
        try:
            return int(str(raw))
        except ValueError:
            raise SpecError(f"Lab setting {key} must be a whole number, got {raw!r}.") from None
    if key in BOOL_FIELDS:
        return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes", "on")
    if key == "kubernetes_version":  # 1.37 or v1.37 means the pinned patch; an unknown one is a problem
        try:
            return pins_for(str(raw)).kubernetes
        except SpecError:
            return str(raw)
    if key in TUPLE_FIELDS:
        if isinstance(raw, (list, tuple)):
            return tuple(str(x) for x in raw)
        return tuple(x.strip() for x in str(raw).replace(",", " ").split() if x.strip())
    return str(raw)


def validate(spec: LabSpec) -> LabSpec:
    """Return the spec when it is sound; else raise SpecError with one sentence per mistake."""
    problems = list(_problems(spec))
    if problems:
        raise SpecError(" ".join(problems))
    return spec


def _problems(spec: LabSpec) -> list[str]:
    out: list[str] = []
    if spec.nodes < 1:
        out.append(f"A lab needs at least one node (the control plane), and the spec asks for {spec.nodes}.")
    elif spec.nodes > MAX_NODES:
        out.append(f"A lab of {spec.nodes} nodes is more than this tool runs ({MAX_NODES} at most).")
    if spec.proxy_mode not in PROXY_MODES:
        out.append(f"Unknown proxy mode {spec.proxy_mode!r}: use one of {', '.join(PROXY_MODES)}.")
    if spec.ipvs_scheduler not in IPVS_SCHEDULERS:
        out.append(
            f"Unknown IPVS scheduler {spec.ipvs_scheduler!r}: use one of {', '.join(IPVS_SCHEDULERS)}."
        )
    try:
        pins_for(spec.kubernetes_version)
    except SpecError as exc:
        out.append(str(exc))
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", spec.name):
        out.append(f"Lab name {spec.name!r} must be lower-case letters, digits and dashes.")
    if spec.image_prefix and spec.provider == "kind":
        out.append(f"--image-prefix {spec.image_prefix} is for clusters svclab did not build (--lab existing:...): "
                   "its own kind labs load the svclab.local images onto their nodes.")
    out.extend(_network_problems(spec))
    return out


def _net(value: str, what: str, out: list[str]) -> ipaddress.IPv4Network | None:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        out.append(f"The {what} {value!r} is not a network in CIDR form.")
        return None
    if not isinstance(net, ipaddress.IPv4Network):
        out.append(f"The {what} {value!r} is IPv6; the lab is IPv4 only.")
        return None
    return net


def _network_problems(spec: LabSpec) -> list[str]:
    out: list[str] = []
    pods = _net(spec.pod_subnet, "pod subnet", out)
    services = _net(spec.service_subnet, "Service subnet", out)
    lab = _net(spec.network, "lab network", out)
    node_range = _net(spec.node_range, "node address range", out)
    if pods and services and pods.overlaps(services):
        out.append(f"The pod subnet {pods} overlaps the Service subnet {services}.")
    for other in (pods, services):
        if lab and other and lab.overlaps(other):
            out.append(f"The lab network {lab} overlaps the cluster subnet {other}.")
    if lab and node_range and not node_range.subnet_of(lab):
        out.append(f"The node address range {node_range} is not inside the lab network {lab}.")
    if not (lab and node_range):
        return out
    pool = list(spec.external_ips)
    try:
        lb = list(spec.lb_addresses())
        if not lb:
            out.append(f"The LoadBalancer pool {spec.lb_pool!r} is empty: FIRST comes after LAST.")
        pool += lb
        taken = sorted(set(spec.external_ips) & set(lb))
        if taken:
            out.append(f"External IP {', '.join(taken)} is also in the LoadBalancer pool {spec.lb_pool}.")
    except ValueError:
        out.append(f"The LoadBalancer pool {spec.lb_pool!r} is not of the form FIRST-LAST.")
    for text in pool:
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            out.append(f"External address {text!r} is not an IP address.")
            continue
        if addr not in lab:
            out.append(
                f"External IP {addr} is outside the lab's network {lab}: the lab only routes "
                "addresses of its own network, so traffic to it could leave this machine."
            )
        elif addr in (lab.network_address, lab.broadcast_address):
            out.append(f"External IP {addr} is the lab network's own network or broadcast address.")
        elif addr in node_range:
            out.append(f"External IP {addr} is inside the node address range {node_range}.")
    return out
