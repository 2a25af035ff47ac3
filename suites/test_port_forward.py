"""port-forward (seed 004): `kubectl port-forward pod/<name>` reaches exactly that pod."""

from __future__ import annotations

import os
import re
import subprocess
import urllib.request

from svclab.fixtures import LiveLab
from svclab.jig import Jig, Pod
from svclab.wait import wait_for


def test_port_forward_reaches_exactly_that_pod(lab: LiveLab, jig: Jig, myapp: list[Pod]) -> None:
    target = myapp[1]
    argv = [str(lab.kubectl.binary), "port-forward", "-n", jig.namespace, f"pod/{target.name}", ":80"]
    proc = subprocess.Popen(argv, env={**os.environ, "KUBECONFIG": str(lab.kubectl.kubeconfig)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        line = wait_for(proc.stdout.readline, what="kubectl port-forward to start", timeout=30)
        port = re.search(r"127\.0\.0\.1:(\d+)", line)
        assert port, f"unexpected port-forward output {line!r} from {' '.join(argv)}"
        names = []
        for _ in range(10):  # bounded: ten requests to loopback
            with urllib.request.urlopen(f"http://127.0.0.1:{port.group(1)}/hostname.html", timeout=5) as r:
                names.append(r.read().decode().strip())
        assert set(names) == {target.name}, f"expected only {target.name}, got {names} via {' '.join(argv)}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
