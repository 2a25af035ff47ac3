"""Where svclab finds its state and the binaries the image factory built; never downloads."""

from __future__ import annotations

import os
from pathlib import Path

from svclab.core.catalog import PINS, pins_for
from svclab.core.errors import HostError

BUILD_HINT = "run `python -m svclab.images` to build it here"


def cache_dir() -> Path:
    return Path(os.environ.get("SVCLAB_CACHE", Path.home() / ".cache" / "svclab"))


def state_dir(name: str, create: bool = True) -> Path:
    path = cache_dir() / "labs" / name
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def binary(name: str, kubernetes: str = PINS.kubernetes) -> Path:
    """A binary built by the image factory: kind, or kubectl of a pinned Kubernetes (the
    default one unless told: kubectl speaks to servers one minor either side of its own)."""
    folder = "bin" if name == "kind" else pins_for(kubernetes).k8s_folder
    path = cache_dir() / folder / name
    if not path.exists():
        hint = BUILD_HINT if kubernetes == PINS.kubernetes else f"{BUILD_HINT} with --k8s-version {kubernetes}"
        raise HostError(f"{name} is not built at {path}: {hint}.")
    return path
