"""Reading a cluster's Corefile: does it answer the lab zone, does it forward off the lab."""

from __future__ import annotations

import yaml

from svclab.core.spec import LabSpec
from svclab.labs.addons import LAB_ZONE, addons_manifest
from svclab.labs.clusterdns import answers_lab_zone, forwards, with_lab_zone


def svclab_corefile() -> str:
    docs = [d for d in yaml.safe_load_all(addons_manifest(LabSpec())) if d]
    return str(next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "coredns")
               ["data"]["Corefile"])


def test_svclab_s_corefile_answers_the_lab_zone_and_forwards_nothing() -> None:
    text = svclab_corefile()
    assert answers_lab_zone(text)
    assert forwards(text) == []


def test_the_lab_zone_added_to_a_corefile_is_answered_inline() -> None:
    text = svclab_corefile().replace(f"file /etc/coredns/lab.zone {LAB_ZONE}", "forward . /etc/resolv.conf")
    assert not answers_lab_zone(text)
    assert forwards(text) == [". -> /etc/resolv.conf"]
    added = with_lab_zone(text, LabSpec())
    assert added.startswith(text.rstrip())
    assert answers_lab_zone(added)
    assert f"172.29.0.240 my.{LAB_ZONE}" in added
