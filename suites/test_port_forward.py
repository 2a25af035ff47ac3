"""port-forward (seed 004): `kubectl port-forward pod/<name>` reaches exactly that pod."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from svclab.expect import holds, reaches_all, refuted, verify
from svclab.plugin.fixtures import CommandResult, Jig, LiveLab, LocalShell, Pod, curl_batch

START_TIMEOUT = 30.0


@contextmanager
def forward(lab: LiveLab, jig: Jig, pod: Pod, port: int) -> Iterator[tuple[str, list[str]]]:
    """`kubectl port-forward pod/<name> :port`; yields the local URL base and what kubectl printed
    (read after it ends). Its first line is awaited with a time limit, never a blocking read."""
    argv = [str(lab.kubectl.binary), "port-forward", "-n", jig.namespace, f"pod/{pod.name}", f":{port}"]
    proc = subprocess.Popen(argv, env={**os.environ, "KUBECONFIG": str(lab.kubectl.kubeconfig)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    printed: list[str] = []
    try:
        line = _first_line(proc)
        local = re.search(r"127\.0\.0\.1:(\d+)", line)
        verify(holds("kubectl port-forward starts", local is not None, "Forwarding from 127.0.0.1:<port>",
                     line.strip() or f"nothing within {START_TIMEOUT:.0f} s", _as_result(argv, proc, line)))
        assert local is not None
        yield f"http://127.0.0.1:{local[1]}", printed
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
        printed.extend(out.splitlines())


def _first_line(proc: subprocess.Popen[str]) -> str:
    import select

    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT)
    return proc.stdout.readline() if ready else ""


def _as_result(argv: list[str], proc: subprocess.Popen[str], line: str) -> CommandResult:
    return CommandResult("host", tuple(argv), proc.poll() or 0, line, "", 0.0)


def test_port_forward_reaches_exactly_that_pod(lab: LiveLab, jig: Jig, myapp: list[Pod]) -> None:
    target = myapp[1]
    with forward(lab, jig, target, 80) as (base, _):
        batch = curl_batch(LocalShell(), f"{base}/hostname.html", 10)  # ten requests to loopback
        verify(reaches_all(batch, [target.name], f"port-forward reaches only {target.name}"))


def test_negative_control_forwarding_to_a_port_nobody_listens_on_is_refused(lab: LiveLab, jig: Jig,
                                                                           myapp: list[Pod]) -> None:
    """Same check, forwarded to a port the pod does not listen on: no answer, and kubectl itself
    says the pod refused the connection."""
    with forward(lab, jig, myapp[0], 8080) as (base, printed):
        batch = curl_batch(LocalShell(), f"{base}/hostname.html", 2)
    refuted(reaches_all(batch, [myapp[0].name]), "a port the pod does not listen on")
    said = [line for line in printed if "connection refused" in line]
    verify(holds("kubectl reports the pod's refusal", bool(said), "'connection refused' in kubectl's output",
                 said[0] if said else "\n".join(printed[-5:])))
