"""Where svclab finds its state and the binaries the image factory built; never downloads."""

from __future__ import annotations

import os
from pathlib import Path

from svclab.core.catalog import PINS
from svclab.core.errors import HostError

BUILD_HINT = "run `python -m svclab.images` to build it here"


def cache_dir() -> Path:
    return Path(os.environ.get("SVCLAB_CACHE", Path.home() / ".cache" / "svclab"))


def state_dir(name: str, create: bool = True) -> Path:
    path = cache_dir() / "labs" / name
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def binary(name: str) -> Path:
    """A binary built by the image factory: kind, or kubectl of the pinned Kubernetes."""
    folder = "bin" if name == "kind" else f"k8s-{PINS.kubernetes}"
    path = cache_dir() / folder / name
    if not path.exists():
        raise HostError(f"{name} is not built at {path}: {BUILD_HINT}.")
    return path
