"""The Vagrant lab's pieces that need no libvirt: its spec defaults, the settings the
Vagrantfile reads, and Vagrant's machine-readable output (recorded from vagrant 2.3.4 with
vagrant-libvirt 0.11.2 on this machine, before any machine was made)."""

from __future__ import annotations

from pathlib import Path

import pytest

from svclab.core.errors import LabError
from svclab.core.spec import from_settings
from svclab.images.vagrantbox import box_metadata
from svclab.labs.bridgeclient import client_address
from svclab.labs.vagrant import machine_addresses, vagrant_settings
from svclab.labs.vagrantcli import box_names, machine_states, tidy, up_failures

RECORDED = Path(__file__).resolve().parents[1] / "recorded" / "vagrant"


def test_the_vagrant_lab_defaults_to_the_seeds_network() -> None:
    spec = from_settings({"lab": "vagrant"})
    assert (spec.name, spec.network, spec.external_ips) == ("svclab-vagrant", "172.16.1.0/24", ("172.16.1.240",))
    assert machine_addresses(spec) == [("k8s-master", "172.16.1.110"), ("k8s-node01", "172.16.1.111"),
                                       ("k8s-node02", "172.16.1.112")]


def test_a_folder_names_the_vagrantfile_and_kind_keeps_its_own_defaults() -> None:
    assert from_settings({"lab": "vagrant:/srv/lab"}).target == "/srv/lab"
    assert from_settings({"lab": "kind"}).network == "172.29.0.0/24"


def test_the_settings_name_the_box_the_mode_and_a_fresh_token(tmp_path: Path) -> None:
    spec = from_settings({"lab": "vagrant", "proxy_mode": "nftables", "kubernetes_version": "1.37"})
    found = vagrant_settings(spec, tmp_path, "abcdef.0123456789abcdef")
    assert found["box"] == "svclab/node-v1.37.2" and found["proxy_mode"] == "nftables"
    assert found["boot"] == "/var/lib/libvirt/boot/svclab-v1.37.2" and found["addons"] == str(tmp_path / "addons.yaml")
    assert found["token"] == "abcdef.0123456789abcdef"


def test_vagrant_status_gives_each_machine_its_state() -> None:
    text = (RECORDED / "status-not-created.txt").read_text()
    assert machine_states(text) == {n: "not_created" for n in ("k8s-master", "k8s-node01", "k8s-node02")}


def test_a_client_takes_the_first_free_address_of_the_band() -> None:
    assert client_address("172.16.1.0/24", {"172.16.1.230"}) == "172.16.1.231"
    with pytest.raises(LabError):
        client_address("172.16.1.0/24", {f"172.16.1.{i}" for i in range(230, 251)})


def test_the_box_records_its_size_in_whole_gigabytes() -> None:
    assert box_metadata("8G") == {"provider": "libvirt", "format": "qcow2", "virtual_size": 8}
    assert box_metadata("1500M")["virtual_size"] == 2


def test_vagrant_box_list_names_the_box_svclab_added() -> None:
    assert box_names((RECORDED / "box-list.txt").read_text()) == {"svclab/node-v1.35.4"}
    assert box_names("") == set()


def test_a_failed_up_is_told_machine_by_machine() -> None:
    """The first real `vagrant up` here: one DHCP lease for three machines (fixed since)."""
    said = up_failures((RECORDED / "up-failed-same-dhcp-lease.log").read_text())
    assert [s.split(":")[0] for s in said] == ["k8s-master", "k8s-node01", "k8s-node02"]
    assert "'inaccessible' state" in said[2]
    line = "    k8s-node01: svclab-provision (k8s-node01) failed: the box lacks: ipvsadm"
    assert up_failures(line) == ["k8s-node01: the box lacks: ipvsadm"]


def test_the_log_loses_the_progress_meter_and_keeps_the_rest() -> None:
    raw = "==> box: Adding\n\x1b[KProgress: 0% (Rate: 0/s)\r\x1b[KProgress: 99%\r\x1b[K==> k8s-master: Creating image"
    assert tidy(raw) == "==> box: Adding\n==> k8s-master: Creating image"
