"""port-forward (seed 004): `kubectl port-forward pod/<name>` reaches exactly that pod."""

from __future__ import annotations

import os
import re
import subprocess
import urllib.request

import pytest

from svclab.fixtures import LiveLab
from svclab.jig import Jig, Pod
from svclab.wait import wait_for


def forward(lab: LiveLab, jig: Jig, pod: Pod, port: int) -> tuple[subprocess.Popen[str], str, list[str]]:
    """Start `kubectl port-forward pod/<name> :port`; return the process and the local port."""
    argv = [str(lab.kubectl.binary), "port-forward", "-n", jig.namespace, f"pod/{pod.name}", f":{port}"]
    proc = subprocess.Popen(argv, env={**os.environ, "KUBECONFIG": str(lab.kubectl.kubeconfig)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    line = wait_for(proc.stdout.readline, what="kubectl port-forward to start", timeout=30)
    local = re.search(r"127\.0\.0\.1:(\d+)", line)
    if not local:
        proc.terminate()
        raise AssertionError(f"unexpected port-forward output {line!r} from {' '.join(argv)}")
    return proc, local.group(1), argv


def test_port_forward_reaches_exactly_that_pod(lab: LiveLab, jig: Jig, myapp: list[Pod]) -> None:
    target = myapp[1]
    proc, port, argv = forward(lab, jig, target, 80)
    try:
        names = []
        for _ in range(10):  # bounded: ten requests to loopback
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/hostname.html", timeout=5) as r:
                names.append(r.read().decode().strip())
        assert set(names) == {target.name}, f"expected only {target.name}, got {names} via {' '.join(argv)}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_negative_control_forwarding_to_a_port_nobody_listens_on_fails(lab: LiveLab, jig: Jig,
                                                                       myapp: list[Pod]) -> None:
    proc, port, _ = forward(lab, jig, myapp[0], 8080)
    try:
        with pytest.raises(OSError):  # the connection is reset or closed: no pod answers
            urllib.request.urlopen(f"http://127.0.0.1:{port}/hostname.html", timeout=5).read()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
