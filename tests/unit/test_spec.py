"""svclab.core.spec: the defaults, coercion of ini/env strings, and one plain sentence per mistake."""

from __future__ import annotations

import re

import pytest

from svclab.core.errors import SpecError
from svclab.core.spec import LabSpec, from_settings, parse_lab, validate


def spec_error(**settings: object) -> str:
    """The message of the SpecError that from_settings raises for these settings."""
    with pytest.raises(SpecError) as caught:
        from_settings(settings)
    return str(caught.value)


def assert_sentences(message: str) -> None:
    """Plain sentences: each starts with a capital letter and ends with a full stop."""
    assert message.endswith(".")
    assert message[0].isupper()
    assert "\n" not in message
    assert "Traceback" not in message


# ---------------------------------------------------------------- defaults


def test_defaults_are_a_three_node_ipvs_rr_lab() -> None:
    spec = LabSpec()

    assert (spec.provider, spec.name) == ("kind", "svclab")
    assert (spec.nodes, spec.workers) == (3, 2)
    assert (spec.proxy_mode, spec.ipvs_scheduler) == ("ipvs", "rr")
    assert (spec.pod_subnet, spec.service_subnet) == ("10.244.0.0/16", "10.96.0.0/12")
    assert (spec.network, spec.node_range) == ("172.29.0.0/24", "172.29.0.0/25")
    assert spec.external_ips == ("172.29.0.240",)
    assert spec.image == f"svclab.local/node:{spec.kubernetes_version}"
    assert spec.minor == int(spec.kubernetes_version.split(".")[1])


def test_defaults_validate_and_empty_settings_give_the_defaults() -> None:
    assert validate(LabSpec()) == LabSpec()
    assert from_settings({}) == LabSpec()
    assert from_settings({"nodes": None, "proxy_mode": "", "lab": ""}) == LabSpec()


def test_lb_pool_expands_to_every_address_first_to_last() -> None:
    pool = LabSpec().lb_addresses()

    assert (pool[0], pool[-1], len(pool)) == ("172.29.0.200", "172.29.0.219", 20)


# ---------------------------------------------------------------- coercion


def test_ini_and_env_strings_are_coerced_to_typed_fields() -> None:
    spec = from_settings({
        "nodes": "2", "keep": "yes", "proxy_mode": "iptables", "ipvs_scheduler": "lc",
        "external_ips": "172.29.0.240, 172.29.0.241 172.29.0.242",
    })

    assert spec.nodes == 2
    assert spec.keep is True
    assert (spec.proxy_mode, spec.ipvs_scheduler) == ("iptables", "lc")
    assert spec.external_ips == ("172.29.0.240", "172.29.0.241", "172.29.0.242")


@pytest.mark.parametrize(("raw", "expected"), [
    ("1", True), ("true", True), ("ON", True), (True, True),
    ("0", False), ("no", False), ("false", False), (False, False),
])
def test_keep_accepts_the_usual_boolean_spellings(raw: object, expected: bool) -> None:
    assert from_settings({"keep": raw}).keep is expected


def test_typed_values_pass_through_unchanged() -> None:
    spec = from_settings({"nodes": 1, "external_ips": ["172.29.0.241"]})

    assert (spec.nodes, spec.external_ips) == (1, ("172.29.0.241",))


@pytest.mark.parametrize(("value", "provider", "name", "target"), [
    ("kind", "kind", "svclab", ""),
    ("kind:mylab", "kind", "mylab", ""),
    ("existing:/path/kubeconfig", "existing", "svclab", "/path/kubeconfig"),
    (" existing : /path/kubeconfig ", "existing", "svclab", "/path/kubeconfig"),
])
def test_lab_value_chooses_provider_and_its_argument(value: str, provider: str, name: str, target: str) -> None:
    spec = from_settings({"lab": value})

    assert (spec.provider, spec.name, spec.target) == (provider, name, target)


def test_parse_lab_splits_at_the_first_colon_only() -> None:
    assert parse_lab("existing:/a:b") == ("existing", "/a:b")


def test_nodes_that_is_not_a_number_is_a_spec_error() -> None:
    message = spec_error(nodes="three")

    assert "must be a whole number" in message and "'three'" in message
    assert_sentences(message)


def test_an_unknown_setting_is_named_with_the_known_ones() -> None:
    message = spec_error(nodez="3")

    assert "Unknown lab setting 'nodez'" in message
    assert "nodes" in message and "proxy_mode" in message
    assert_sentences(message)


# ---------------------------------------------------------------- mistakes


MISTAKES = [
    pytest.param({"nodes": "0"}, ["at least one node", "asks for 0"], id="no-nodes"),
    pytest.param({"nodes": "9"}, ["9 nodes", "5 at most"], id="too-many-nodes"),
    pytest.param({"proxy_mode": "userspace"}, ["Unknown proxy mode 'userspace'", "ipvs, iptables, nftables"],
                 id="userspace"),
    pytest.param({"ipvs_scheduler": "xyz"}, ["Unknown IPVS scheduler 'xyz'", "rr"], id="scheduler"),
    pytest.param({"external_ips": "10.0.0.240"},
                 ["External IP 10.0.0.240", "outside the lab's network 172.29.0.0/24", "leave this machine"],
                 id="external-ip-outside"),
    pytest.param({"external_ips": "172.29.0.10"},
                 ["External IP 172.29.0.10", "inside the node address range 172.29.0.0/25"],
                 id="external-ip-in-node-range"),
    pytest.param({"pod_subnet": "10.96.0.0/16"},
                 ["pod subnet 10.96.0.0/16 overlaps the Service subnet 10.96.0.0/12"], id="overlap"),
    pytest.param({"kubernetes_version": "1.38"}, ["'1.38'", "not one svclab pins", "1.37 (v1.37.2)"],
                 id="version-not-pinned"),
    pytest.param({"kubernetes_version": "v1.35.3"}, ["'v1.35.3'", "not one svclab pins", "1.35 (v1.35.4)"],
                 id="patch-not-pinned"),
    pytest.param({"kubernetes_version": "latest"}, ["'latest'", "not one svclab pins"], id="version-not-a-version"),
    pytest.param({"lab": "kind:Bad_Name"}, ["Lab name 'Bad_Name'", "lower-case"], id="lab-name"),
    pytest.param({"service_subnet": "10.96.0.1/12"}, ["Service subnet '10.96.0.1/12'", "CIDR"], id="host-bits"),
    pytest.param({"network": "10.244.0.0/24"}, ["lab network 10.244.0.0/24 overlaps the cluster subnet"],
                 id="lab-network-in-pod-subnet"),
    pytest.param({"lb_pool": "172.29.0.200"}, ["LoadBalancer pool", "FIRST-LAST"], id="lb-pool-form"),
]


@pytest.mark.parametrize(("settings", "words"), MISTAKES)
def test_each_mistake_is_a_spec_error_in_plain_sentences(settings: dict[str, object], words: list[str]) -> None:
    message = spec_error(**settings)

    for word in words:
        assert word in message
    assert_sentences(message)


def test_several_mistakes_are_reported_together_one_sentence_each() -> None:
    message = spec_error(nodes="0", proxy_mode="userspace", external_ips="10.0.0.240")

    assert "at least one node" in message
    assert "Unknown proxy mode" in message
    assert "outside the lab's network" in message
    assert len(re.findall(r"\.(?:\s|$)", message)) >= 3


def test_broadcast_external_ip_is_named_as_such() -> None:
    with pytest.raises(SpecError, match="network or broadcast address"):
        validate(LabSpec(external_ips=("172.29.0.255",)))


def test_reversed_lb_pool_is_refused() -> None:
    with pytest.raises(SpecError, match="FIRST comes after LAST"):
        validate(LabSpec(lb_pool="172.29.0.219-172.29.0.200"))


def test_external_ip_inside_the_lb_pool_is_refused() -> None:
    with pytest.raises(SpecError, match="also in the LoadBalancer pool"):
        validate(LabSpec(external_ips=("172.29.0.200",)))


def test_an_image_prefix_is_for_clusters_svclab_did_not_build() -> None:
    with pytest.raises(SpecError, match="is for clusters svclab did not build"):
        from_settings({"lab": "kind", "image_prefix": "registry.example:5000/svclab"})
    assert from_settings({"lab": "existing:/k", "image_prefix": "r.example/s"}).image_prefix == "r.example/s"


def test_the_prefix_moves_only_the_workloads_images(monkeypatch: pytest.MonkeyPatch) -> None:
    from svclab.core.catalog import PREFIX_ENV, built_images, lab_images

    monkeypatch.setenv(PREFIX_ENV, "registry.example:5000/svclab/")
    moved, own = lab_images(), built_images()
    assert moved.myapp_v1 == "registry.example:5000/svclab/myapp:v1"
    assert moved.metallb_speaker == own.metallb_speaker.replace("svclab.local", "registry.example:5000/svclab")
    assert (moved.node, moved.coredns, moved.labnet) == (own.node, own.coredns, own.labnet)


@pytest.mark.parametrize("given", ["1.37", "v1.37", "v1.37.2", "1.37.2"])
def test_a_minor_means_its_pinned_patch(given: str) -> None:
    spec = from_settings({"kubernetes_version": given})
    assert spec.kubernetes_version == "v1.37.2" and spec.image == "svclab.local/node:v1.37.2"
