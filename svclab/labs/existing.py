"""An existing cluster, reached through a kubeconfig. svclab creates only namespaces
there (the fixtures delete them) and never deletes what it did not create."""

from __future__ import annotations

from pathlib import Path

from svclab.core.errors import LabError, SpecError
from svclab.core.spec import LabSpec


class ExistingLab:
    builds_cluster = False

    def __init__(self, spec: LabSpec) -> None:
        if not spec.target:
            raise SpecError("The existing provider needs a kubeconfig: --lab existing:/path/to/kubeconfig.")
        self.spec = spec
        self.kubeconfig = Path(spec.target).expanduser()
        self.reused = True
        self.owned = False

    def preflight(self) -> None:
        if not self.kubeconfig.is_file():
            raise LabError(f"The kubeconfig {self.kubeconfig} does not exist.")

    def up(self) -> None:
        self.preflight()

    def export_logs(self, dest: Path) -> Path | None:
        return None  # not ours to collect from

    def down(self) -> None:
        return None  # never destroy a cluster svclab did not create
