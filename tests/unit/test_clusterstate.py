"""The before/after comparison on snapshots recorded from a real cluster svclab did not build
(docs/examples/handmade-cluster.sh): the lab zone added to its CoreDNS, then taken out again."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from svclab.observe.clusterstate import differences, reduced

RECORDED = Path(__file__).parents[1] / "recorded" / "clusterstate"


def load(name: str) -> dict[str, Any]:
    with gzip.open(RECORDED / f"handmade-{name}.json.gz", "rt") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


def test_a_changed_corefile_is_named_down_to_its_field() -> None:
    assert differences(load("before"), load("lab-zone-added")) == [
        "changed: kube-system/ConfigMap/coredns (data.Corefile)"]


def test_the_original_text_put_back_is_identical() -> None:
    assert differences(load("before"), load("restored")) == []


def test_added_and_removed_objects_are_named() -> None:
    before = load("before")
    after = {k: v for k, v in before.items() if k != "ClusterRole/view"}
    after["Namespace/metallb-system"] = {"metadata": {"name": "metallb-system"}}
    assert differences(before, after) == ["added: Namespace/metallb-system", "removed: ClusterRole/view"]


def test_status_and_bookkeeping_are_left_out() -> None:
    node = {"kind": "Node", "metadata": {"name": "n", "resourceVersion": "7", "managedFields": [], "uid": "u"},
            "spec": {"podCIDR": "10.120.0.0/24"}, "status": {"conditions": []}}
    assert reduced(node) == {"kind": "Node", "metadata": {"name": "n", "uid": "u"},
                             "spec": {"podCIDR": "10.120.0.0/24"}}
