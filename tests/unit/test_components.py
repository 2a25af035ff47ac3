"""The cluster's own word on its versions, gates and deprecations, on outputs recorded from the
Kubernetes 1.37 lab (kind, iptables mode)."""

from __future__ import annotations

from pathlib import Path

import pytest

from svclab.core.result import CommandResult
from svclab.expect import deprecation_logged, deprecation_warning
from svclab.expect.warnings import server_warnings
from svclab.labfacts import components_text, node_versions_text
from svclab.observe.components import gates_summary, parse_feature_gates

RECORDED = Path(__file__).resolve().parents[1] / "recorded" / "lab"
GATES = (RECORDED / "apiserver-feature-gates-v1.37.2.txt").read_text()
WARNED = (RECORDED / "kubectl-apply-externalips-v1.37.2.txt").read_text()
PHRASE = "spec.externalIPs is deprecated"


def applied(stderr: str) -> CommandResult:
    return CommandResult("kubectl", ("kubectl", "apply", "-f", "-"), 0, "service/myapp-externalip created\n",
                         stderr, 0.1)


def test_every_gate_the_api_server_reports_is_read_with_its_stage() -> None:
    gates = parse_feature_gates(GATES)

    assert len(gates) == len(GATES.splitlines()) == 254
    assert gates["KubeProxyIPVS"] == {"enabled": True, "stage": "DEPRECATED"}
    assert gates["AllowServiceExternalIPs"] == {"enabled": True, "stage": "GA"}


def test_the_report_names_the_deprecated_gates_that_are_on() -> None:
    text = gates_summary(parse_feature_gates(GATES))

    assert text.startswith("deprecated and on: ")
    assert "KubeProxyIPVS" in text.split(";")[0]
    assert "KMSv1" not in text  # deprecated and off: counted, not named
    assert gates_summary({}).startswith("not known")


@pytest.mark.parametrize(("stderr", "minor", "holds"), [
    (WARNED, 37, True),   # due and given
    ("", 37, False),      # due and missing
    ("", 35, True),       # before 1.36: none due, none given
    (WARNED, 35, False),  # a warning before it is due is a finding too
])
def test_the_externalips_warning_is_due_from_1_36(stderr: str, minor: int, holds: bool) -> None:
    verdict = deprecation_warning(applied(stderr), PHRASE, minor, since=36, what="Service.spec.externalIPs")

    assert verdict.ok is holds, verdict.report()
    assert verdict.evidence[0].stderr == stderr


def test_kubectl_prefixes_are_taken_off_the_servers_warnings() -> None:
    assert server_warnings(applied(WARNED)) == [
        "spec.externalIPs is deprecated and may no longer be implemented in some clusters"]


def test_lab_facts_name_components_and_group_nodes_by_kubelet_and_runtime() -> None:
    assert components_text({"kube-proxy": ["svclab.local/kube-proxy:v1.37.2"]}) == "kube-proxy v1.37.2"
    assert components_text({"kube-dns": ["svclab.local/coredns:v1.14.7"]}) == "kube-dns coredns:v1.14.7"
    nodes = {"a": {"kubelet": "v1.37.2", "container_runtime": "containerd://1.6.20"},
             "b": {"kubelet": "v1.37.2", "container_runtime": "containerd://1.6.20"}}
    assert node_versions_text(nodes) == "kubelet v1.37.2, containerd://1.6.20 (a, b)"


LOGS = RECORDED / "kube-proxy-logs"
IPVS_DEPRECATED = r"ipvs proxier .*deprecated"  # as the suite asks


def logged(name: str) -> CommandResult:
    return CommandResult("kubectl", ("kubectl", "logs"), 0, (LOGS / name).read_text(), "", 0.1)


def test_kube_proxy_in_ipvs_mode_logs_its_deprecation_and_one_in_iptables_mode_does_not() -> None:
    """Recorded on the 1.35 IPVS lab: the VM's kube-proxy (IPVS) and a kind node's (iptables)."""
    ipvs = deprecation_logged(logged("ipvs-vm-v1.35.4.log"), "vm", IPVS_DEPRECATED, 35, since=35, what="IPVS")
    other = deprecation_logged(logged("iptables-kind-node-v1.35.4.log"), "worker", IPVS_DEPRECATED, 35, since=35,
                               what="IPVS")

    assert ipvs.ok and "The ipvs proxier is now deprecated" in ipvs.observed
    assert not other.ok and other.data["finding"] == "silent"
    assert not deprecation_logged(logged("ipvs-vm-v1.35.4.log"), "vm", IPVS_DEPRECATED, 34, since=35,
                                  what="IPVS").ok  # a line before it is due is a finding too


def test_kube_proxys_own_gates_are_read_from_its_metrics_and_grouped_by_node() -> None:
    from svclab.labfacts import node_gates_text
    from svclab.observe.metrics import body

    raw = (RECORDED / "kube-proxy-metrics-full-iptables-v1.35.4.txt").read_text()  # a 1.35 kind node's
    gates = parse_feature_gates(body(raw))
    assert len(gates) == 218 and "KubeProxyIPVS" not in gates  # the gate comes with 1.37
    text = node_gates_text({"worker": gates, "worker2": gates})
    assert text.endswith("(worker, worker2)") and text.count("deprecated and on") == 1
    assert node_gates_text({}) == "not read (no node shell)"
