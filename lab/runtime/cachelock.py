"""One builder at a time for each cached artefact (image, kernel, box): two runs on one
machine wait for each other instead of building the same folder twice."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from typing import Iterator

from lab import log


@contextmanager
def cache_lock(name: str) -> Iterator[None]:
    from lab.runtime.image import cache_dir

    folder = cache_dir() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{name}.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info(f"cache: another run (pid file {handle.name}) is building {name}: waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            os.ftruncate(handle.fileno(), 0)
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
