"""One wait for everything: a timeout, a poll interval, and what it last saw when it gives up
(wait_until raises with it; poll_until returns it, for a wait whose outcome is the finding)."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def poll_until(probe: Callable[[], tuple[bool, T]], *, timeout: float, interval: float = 1.0) -> tuple[bool, T]:
    """Call probe() until it returns (True, seen) or `timeout` has passed: (whether it did, what it
    last saw). For a wait whose outcome is itself what a test records (a takeover that did or did
    not happen): it never raises."""
    deadline = time.monotonic() + timeout
    while True:
        ok, seen = probe()
        if ok or time.monotonic() >= deadline:
            return ok, seen
        time.sleep(interval)


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
    ok, seen = poll_until(probe, timeout=timeout, interval=interval)
    if not ok:
        raise error(f"waited {timeout:.0f} s for {what}; last saw:\n{seen}")
    return seen
