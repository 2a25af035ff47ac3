"""Progress lines for long steps, written to the real terminal even under pytest capture."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

console = Console(file=sys.__stderr__, soft_wrap=True, highlight=False)


def say(message: str) -> None:
    console.print(f"[dim]svclab:[/] {message}")


@contextmanager
def step(what: str) -> Iterator[None]:
    """Announce a long step, then say how long it took (or that it failed)."""
    say(f"{what} ...")
    start = time.monotonic()
    try:
        yield
    except BaseException:
        say(f"{what}: [red]failed[/] after {time.monotonic() - start:.0f} s")
        raise
    say(f"{what}: done in {time.monotonic() - start:.0f} s")
