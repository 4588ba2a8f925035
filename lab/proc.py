"""Process identity: a recorded PID plus its start time tells it from a recycled PID."""

from __future__ import annotations

from pathlib import Path


def starttime(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (start time in clock ticks), or None if no such live process.

    A zombie counts as gone: it holds no namespaces or mounts, only an exit status.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else fields[19]


def owner_record() -> dict:
    """Who made a lab resource: this process. `lvslab clean` leaves alone what a live run owns."""
    import os

    return {"owner": os.getpid(), "owner_start": starttime(os.getpid())}


def owner_alive(record: dict) -> bool:
    return "owner" in record and starttime(record["owner"]) == record.get("owner_start")
