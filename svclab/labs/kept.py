"""`svclab down`: take down the labs svclab made and kept (`--keep-lab`), or what a killed run
left behind, without running any test.

A lab is svclab's when it has svclab's state folder and a kind cluster of that name, or a Docker
network, VM or container labelled `svclab.lab=<name>`: a kind cluster svclab did not make (no
state folder) is never touched.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from svclab.core import tools
from svclab.core.errors import SvclabError
from svclab.core.result import run
from svclab.core.spec import LabSpec
from svclab.labs.kind import KindLab
from svclab.labs.vmnode import VmNode

LABEL = "svclab.lab"
USE_LOCK = "in-use.lock"


@contextmanager
def in_use(name: str) -> Iterator[None]:
    """Mark lab `name` in use while the block runs. A shared lock, so that everything that uses
    the lab at once (pytest-xdist's workers, a drill and its pytest sessions) holds it together;
    the kernel drops it when the process dies, so a killed run leaves no stale mark. By hand with
    fcntl: filelock has no shared lock."""
    with open(tools.state_dir(name) / USE_LOCK, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        yield


def busy(name: str) -> bool:
    """Some process holds lab `name` in use right now."""
    path = tools.state_dir(name, create=False) / USE_LOCK
    if not path.exists():
        return False
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False


def kept_labs() -> list[str]:
    """The names of svclab's labs on this machine that are up, or partly up."""
    states = tools.cache_dir() / "labs"
    ours = {p.name for p in states.iterdir() if p.is_dir()} if states.exists() else set()
    clusters = set(run([str(tools.binary("kind")), "get", "clusters"]).stdout.split())
    labelled = run(["docker", "network", "ls", "--filter", f"label={LABEL}", "--format",
                    '{{.Label "' + LABEL + '"}}']).stdout.split()
    containers = run(["docker", "ps", "-a", "--filter", f"label={LABEL}", "--format",
                      '{{.Label "' + LABEL + '"}}']).stdout.split()
    vms = {name for name in ours if VmNode(LabSpec(name=name), tools.state_dir(name, create=False)).running()}
    return sorted((clusters & ours) | set(labelled) | set(containers) | vms)


def take_down(name: str) -> None:
    """Everything of lab `name`: its VM, its kind cluster, its outside clients, its network and
    fence. The lab's kube-proxy mode does not matter here: each part is removed if it is there."""
    if name not in kept_labs():
        raise SvclabError(f"there is no svclab lab named {name!r} on this machine (up: "
                          f"{', '.join(kept_labs()) or 'none'}).")
    if busy(name):
        raise SvclabError(f"lab {name!r} is in use by a running svclab (a run, a pytest-xdist worker or a "
                          "drill): stop that first; it takes its lab down itself unless it keeps it.")
    lab = KindLab(LabSpec(name=name))
    lab.vm_node = VmNode(lab.spec, lab.state)
    lab.owned = True  # the state folder or the label says svclab made it
    extras = run(["docker", "ps", "-aq", "--filter", f"label={LABEL}={name}"]).stdout.split()
    if extras:
        run(["docker", "rm", "-f", *extras])
    lab.down()
