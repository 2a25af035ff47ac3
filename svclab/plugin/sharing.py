"""One lab for a whole pytest-xdist run.

Each worker is a pytest session of its own, so each would create, and later delete, the lab.
Instead the workers share it through files in the run's common temporary directory: under a
lock the first worker to need the lab brings it up, the others join it, and the last one to
leave tears it down. Tests of a module that changes cluster-scoped state (kube-proxy restarts,
MetalLB) must not run beside other modules: such a module holds the cluster exclusively, the
others hold it shared.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock


class Sharing:
    def __init__(self, root: Path) -> None:
        self.lock = FileLock(str(root / "svclab-lab.lock"))
        self.users = root / "svclab-lab.users"
        self.state = root / "svclab-lab.before.json"  # the cluster's state before the first worker
        self.cluster = root / "svclab-cluster.lock"

    def join(self, up: Callable[[], None]) -> bool:
        """Bring the lab up (the first worker creates it, the others reuse it); True if first."""
        with self.lock:
            count = int(self.users.read_text()) if self.users.exists() else 0
            up()
            self.users.write_text(str(count + 1))
            return count == 0

    def leave(self) -> bool:
        """True for the last worker to leave: the one that tears the lab down."""
        with self.lock:
            count = int(self.users.read_text()) - 1
            self.users.write_text(str(count))
            return count == 0

    def keep_state(self, state: dict[str, Any]) -> None:
        self.state.write_text(json.dumps(state))

    def first_state(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.state.read_text())
        return loaded

    @contextmanager
    def hold(self, exclusive: bool) -> Iterator[None]:
        """Hold the cluster, shared or alone, for one module. By hand with fcntl: filelock
        has no shared (reader) lock."""
        with open(self.cluster, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def sharing(request: pytest.FixtureRequest) -> Sharing | None:
    """The run's Sharing when this is a pytest-xdist worker, else None."""
    if not hasattr(request.config, "workerinput"):
        return None
    root = request.getfixturevalue("tmp_path_factory").getbasetemp().parent  # common to the workers
    return Sharing(root)
