"""The IPVS sync daemons as the kernel runs them: kernel threads, read where this process can see them.

Since Linux 3.x a sync daemon is one or more kernel threads named ipvs-m:GEN:ID (master) or
ipvs-b:GEN:ID (backup): ip_vs_sync.c starts them with kthread_run(..., name, ipvs->gen, id),
GEN numbering the network namespace's IPVS instance (seen: ipvs-m:4:0), not the sync id. The
tutorial's ps showed ipvs_syncmaster. No node sees them: each runs in its own PID namespace.
The nodes of a netns lab share the kernel this process runs on (the microVM's, or a host's with
IPVS), so its /proc lists them, for every node (and every lab) on that kernel at once. A lab of
VMs or one reached through its agent (`lvslab up`) cannot be read from here: None.
"""

from __future__ import annotations

from pathlib import Path

from lab.providers.base import Lab
from lab.providers.netns import NetnsLab

KTHREADD = 2  # the parent of every kernel thread


def parse_stat(text: str) -> tuple[str, int]:
    """(name, parent pid) from /proc/PID/stat: `1234 (ipvs-b:0:0) S 2 0 0 ...`; the name may hold spaces."""
    name = text[text.index("(") + 1:text.rindex(")")]
    return name, int(text[text.rindex(")") + 2:].split()[1])


def sync_threads_in(proc: Path) -> list[str]:
    """The sync daemon threads (ipvs-m:..., ipvs-b:...) among the kernel threads of a /proc, sorted."""
    names = []
    for stat in proc.glob("[0-9]*/stat"):
        try:
            name, parent = parse_stat(stat.read_text())
        except (OSError, ValueError):  # the process ended meanwhile
            continue
        if parent == KTHREADD and name.startswith(("ipvs-m:", "ipvs-b:")):
            names.append(name)
    return sorted(names)


def sync_threads(lab: Lab) -> list[str] | None:
    """The kernel's sync daemon threads as this process sees them; None where it cannot see the lab's kernel."""
    return sync_threads_in(Path("/proc")) if isinstance(lab, NetnsLab) else None
