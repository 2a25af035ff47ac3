"""pytest-xdist's workers share one lab: first in creates, last out tears down, and a module
that changes cluster-scoped state holds the cluster alone."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from svclab.plugin.sharing import Sharing


def test_the_first_worker_in_creates_and_the_last_out_tears_down(tmp_path: Path) -> None:
    ups: list[str] = []
    a, b = Sharing(tmp_path), Sharing(tmp_path)
    assert a.join(lambda: ups.append("a")) is True
    assert b.join(lambda: ups.append("b")) is False
    assert ups == ["a", "b"]  # every worker brings its provider up (the second one reuses the lab)
    assert a.leave() is False
    assert b.leave() is True


HOLDER = """
import sys, time
from pathlib import Path
from svclab.plugin.sharing import Sharing
with Sharing(Path(sys.argv[1])).hold(exclusive=False):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_a_cluster_changing_module_waits_for_the_modules_running_beside_it(tmp_path: Path) -> None:
    other = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path), "1.5"], stdout=subprocess.PIPE, text=True)
    assert other.stdout is not None and other.stdout.readline().strip() == "held"
    with Sharing(tmp_path).hold(exclusive=False):
        pass  # shared beside shared: no wait
    start = time.monotonic()
    with Sharing(tmp_path).hold(exclusive=True):
        waited = time.monotonic() - start
    other.wait(timeout=10)
    assert waited > 0.5, f"the exclusive hold did not wait for the shared one ({waited:.2f} s)"
