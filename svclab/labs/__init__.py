"""Lab providers behind one small protocol, chosen by the `--lab` spec string.

A provider creates (or reuses) a cluster, hands out its kubeconfig and nodes, exports
logs and destroys what it created. Node shells are an optional ability of their own.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

from svclab.core.errors import SpecError
from svclab.core.shell import Shell
from svclab.core.spec import LabSpec


@dataclass(frozen=True)
class Node:
    name: str
    role: str  # "control-plane" or "worker"
    address: str  # InternalIP


class Lab(Protocol):
    builds_cluster: ClassVar[bool]  # False: the cluster is the user's, read-only unless opted in
    spec: LabSpec
    kubeconfig: Path
    reused: bool
    owned: bool  # this run created or reused the cluster: only then may it be destroyed

    def __init__(self, spec: LabSpec) -> None:
        """Only remember the spec: nothing is checked or provisioned before preflight/up."""

    def preflight(self) -> None:
        """Raise HostError/LabError (one sentence each) before anything is provisioned."""

    def up(self) -> None:
        """Create the cluster, or reuse one of the same name."""

    def export_logs(self, dest: Path) -> Path | None:
        """Write the cluster's logs under dest; return where, or None if not possible."""

    def down(self) -> None:
        """Destroy what this provider created; never anything else."""


@runtime_checkable
class NodeShells(Protocol):
    """A lab that can run commands on its nodes (kind: docker exec; VMs: SSH)."""

    def node_shell(self, node: str) -> Shell:
        """The node's shell; its host is a testinfra host spec (e.g. docker://svclab-worker)."""


PROVIDERS = {
    "kind": "svclab.labs.kind:KindLab",
    "existing": "svclab.labs.existing:ExistingLab",
    "vagrant": "svclab.labs.vagrant:VagrantLab",
}


def read_only(spec: LabSpec) -> bool:
    """True when svclab may change nothing cluster-scoped: a cluster it did not build, and the
    user did not pass --allow-cluster-changes."""
    return not _provider_class(spec).builds_cluster and not spec.allow_cluster_changes


def make_lab(spec: LabSpec) -> Lab:
    """Instantiate the provider the spec names; an unknown name is one sentence."""
    lab: Lab = _provider_class(spec)(spec)
    return lab


def _provider_class(spec: LabSpec) -> type[Lab]:
    target = PROVIDERS.get(spec.provider)
    if target is None:
        raise SpecError(
            f"Unknown lab provider {spec.provider!r}: use one of {', '.join(PROVIDERS)} "
            "(for example --lab kind or --lab existing:/path/to/kubeconfig)."
        )
    module, _, cls = target.partition(":")
    found: type[Lab] = getattr(importlib.import_module(module), cls)
    return found
