"""Nested, timed progress lines, shown live even while pytest captures output.

    ==> lab: building nodes
      ==> loadb1: chapter 4: heartbeat and ldirectord
      <== loadb1: chapter 4: heartbeat and ldirectord (finished in 41.2 s)

Each finished step is also kept (name, seconds) so benchmarks can say where the time went.
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TextIO

_local = threading.local()
_lock = threading.Lock()
_sinks: list[TextIO] = []
# Where live lines go; the pytest plugin points this past pytest's fd-level capture.
terminal_writer: Callable[[str], None] | None = None
timings: list[tuple[str, float]] = []


def _depth() -> int:
    return getattr(_local, "depth", 0)


def _stream() -> TextIO:
    # sys.__stderr__ is the real terminal even under pytest's capture.
    return sys.__stderr__ or sys.stderr


def add_sink(path: Path) -> None:
    """Also write every line to a file (reports/lab.log)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _sinks.append(path.open("a", buffering=1))


def info(message: str) -> None:
    line = f"{'  ' * _depth()}{message}"
    stamp = time.strftime("%H:%M:%S")
    with _lock:
        if terminal_writer is not None:
            terminal_writer(line)
        else:
            print(line, file=_stream(), flush=True)
        for sink in _sinks:
            print(f"{stamp} {line}", file=sink)


@contextmanager
def step(title: str) -> Iterator[None]:
    info(f"==> {title}")
    started = time.monotonic()
    _local.depth = _depth() + 1
    ok = False
    try:
        yield
        ok = True
    finally:
        _local.depth = _depth() - 1
        elapsed = time.monotonic() - started
        info(f"<== {title} ({'finished' if ok else 'FAILED'} in {elapsed:.1f} s)")
        if ok:
            with _lock:
                timings.append((title, elapsed))
