"""The one wait helper: poll a condition until it holds or time runs out."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from svclab.core.errors import WaitTimeout

T = TypeVar("T")

DEFAULT_TIMEOUT = 120.0
DEFAULT_INTERVAL = 1.0


def wait_for(
    condition: Callable[[], T | None],
    *,
    what: str,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = DEFAULT_INTERVAL,
    describe: Callable[[], str] | None = None,
) -> T:
    """Call `condition` until it returns something truthy; return that value.

    On timeout raise WaitTimeout naming `what`, with `describe()` (the last observed
    state) when given. Exceptions from `condition` propagate: a broken probe is not a wait.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            seen = f"\n{describe()}" if describe else ""
            raise WaitTimeout(f"{what}: not true after {timeout:.0f} s{seen}")
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
