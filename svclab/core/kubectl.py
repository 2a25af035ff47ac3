"""kubectl through argv lists: every call returns a CommandResult that can be replayed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from svclab.core.result import CommandResult, run


@dataclass(frozen=True)
class Kubectl:
    kubeconfig: Path
    binary: Path

    def run(
        self, *args: str, stdin: str | None = None, timeout: float = 120.0, where: str = "kubectl"
    ) -> CommandResult:
        return run(
            [str(self.binary), *args],
            env={"KUBECONFIG": str(self.kubeconfig)},
            stdin=stdin,
            timeout=timeout,
            where=where,
        )

    def apply(self, manifest: str, namespace: str | None = None) -> CommandResult:
        ns = ["-n", namespace] if namespace else []
        return self.run("apply", *ns, "-f", "-", stdin=manifest).check("kubectl apply")

    def get(self, kind: str, *names: str, namespace: str | None = None) -> Any:
        """`kubectl get -o json`, parsed; raises CommandError when kubectl fails."""
        ns = ["-n", namespace] if namespace else []
        result = self.run("get", kind, *names, *ns, "-o", "json").check(f"kubectl get {kind}")
        return json.loads(result.stdout)
