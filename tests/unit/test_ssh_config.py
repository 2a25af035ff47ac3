"""The VM's ssh_config follows the key it is given: CI failed when a config left by an older lab
named a key folder the cache no longer had (testinfra read it and found no key)."""

from __future__ import annotations

from pathlib import Path

from svclab.core.ssh import SshShell


def test_a_stale_config_is_rewritten_with_the_current_key(tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text("Host svclab-ipvs-vm\n  IdentityFile /root/.cache/svclab/vm/id_ed25519\n")
    key = tmp_path / "vm" / "v1.35.4" / "id_ed25519"
    text = SshShell("svclab-ipvs-vm", 2222, key, config).ssh_config.read_text()
    assert f"IdentityFile {key}\n" in text and "Port 2222\n" in text
    assert "/svclab/vm/id_ed25519" not in text
