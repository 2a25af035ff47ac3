"""Progress lines for long steps, written to the real terminal even under pytest capture."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from rich.console import Console

console = Console(file=sys.__stderr__, soft_wrap=True, highlight=False)
# Under pytest the plugin sets this to the capture manager's "disabled" context, so that
# progress reaches the terminal while output capture is on.
uncaptured: Callable[[], AbstractContextManager[object]] = nullcontext


def say(message: str) -> None:
    with uncaptured():
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
