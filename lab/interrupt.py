"""A Ctrl-C that is not lost.

Python drops a KeyboardInterrupt raised while it runs its at-fork handlers (logging releases
its lock after each fork of a subprocess) as "unraisable". Under emulation, where a fork takes
~50 ms and the lab forks for every node command, a Ctrl-C often lands there and the run would
go on as if nothing happened. So the lab notes each SIGINT, and every node command raises one
that went missing (`check`); pytest's own handling of the interrupt clears the note (`handled`).
"""

from __future__ import annotations

import signal
import threading

_pending = False


def _on_sigint(signum: int, frame: object) -> None:
    global _pending
    _pending = True
    raise KeyboardInterrupt


def install() -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_sigint)


def handled() -> None:
    global _pending
    _pending = False


def check() -> None:
    """Raise the KeyboardInterrupt of a Ctrl-C that nobody has handled yet."""
    global _pending
    if _pending:
        _pending = False
        raise KeyboardInterrupt
