"""One wait for everything: a timeout, a poll interval, and what it last saw when it gives up."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_until(
    probe: Callable[[], tuple[bool, T]],
    *,
    timeout: float,
    what: str,
    interval: float = 1.0,
    error: type[Exception] = AssertionError,
) -> T:
    """Call probe() until it returns (True, seen); raise `error` naming what was last seen.

    The probe returns its verdict and what it observed, so a timeout can say
    "waited 60 s for X; last saw: <observation>" instead of a bare "timed out".
    """
    deadline = time.monotonic() + timeout
    seen: object = "(nothing yet)"
    while True:
        ok, seen = probe()
        if ok:
            return seen
        if time.monotonic() >= deadline:
            raise error(f"waited {timeout:.0f} s for {what}; last saw:\n{seen}")
        time.sleep(interval)
