"""Tweaks: functions that change a manifest before the jig applies it (another app's name and
labels, a node, a spread, UDP too), as a user would edit the YAML."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]
Tweak = Callable[[Obj], None]


def as_app(name: str, labels: dict[str, str], more: Tweak | None = None) -> Tweak:
    """A tweak that makes myapp's Deployment another app: its own name, selector and pod labels
    (so that a suite's Service selects only its pods), then `more`."""
    def tweak(obj: Obj) -> None:
        obj["metadata"]["name"] = name
        obj["spec"]["selector"]["matchLabels"] = dict(labels)
        obj["spec"]["template"]["metadata"]["labels"] = dict(labels)
        if more:
            more(obj)
    return tweak


def on_node(node: str | None) -> Tweak:
    """A tweak that puts the Deployment's pods on `node`; None leaves them to the scheduler."""
    def tweak(obj: Obj) -> None:
        if node:
            obj["spec"]["template"]["spec"]["nodeSelector"] = {"kubernetes.io/hostname": node}
    return tweak


def one_per_node(obj: Obj) -> None:
    """A tweak: the Deployment's pods on as many nodes as it has replicas, one each (hostname
    spread, maxSkew 1, enforced), whatever the nodes' preferences say."""
    labels = obj["spec"]["template"]["metadata"]["labels"]
    obj["spec"]["template"]["spec"]["topologySpreadConstraints"] = [{
        "maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": dict(labels)}}]


def udp_too(obj: Obj) -> None:
    """A tweak: myapp answers datagrams on 80 as well (its name, or the peer for "clientip")."""
    box = obj["spec"]["template"]["spec"]["containers"][0]
    box["env"] = [*box.get("env", []), {"name": "MYAPP_UDP_PORTS", "value": "80"}]
    box["ports"] = [*box["ports"], {"name": "udp", "containerPort": 80, "protocol": "UDP"}]
