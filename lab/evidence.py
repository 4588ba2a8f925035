"""Evidence on failure: each node's IPVS table, addresses and daemon logs, saved under reports/."""

from __future__ import annotations

import re
from pathlib import Path

from lab.providers.base import Lab
from lab.stacks import stack_of

# Where a namespace node records its neighbour table's changes from boot (lab/providers/netns-boot.sh).
NEIGHBOUR_LOG = "/var/log/lvslab-neigh.log"
# A node booted by systemd (a Vagrant VM) logs to the journal, where a namespace node has syslogd.
COMMON = ["ip addr", "ip route", "ip -s neigh", f"tail -n 60 {NEIGHBOUR_LOG} 2>/dev/null", "ps -ef", "if [ -d /run/systemd/system ]; then journalctl -b -n 200 --no-pager; fi"]
BY_ROLE = {
    "balancer": ["ipvsadm -L -n", "ipvsadm -L -n -c", "ipvsadm -L --daemon", "tail -n 200 /var/log/syslog"],
    "realserver": ["sysctl net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce",
                   "tail -n 50 /var/log/apache2/access.log", "tail -n 50 /var/log/apache2/error.log"],
}


def collect(lab: Lab, folder: Path) -> Path:
    """Write one file per node; each command's failure is recorded, never raised."""
    folder.mkdir(parents=True, exist_ok=True)
    for node in lab:
        parts = []
        stack = stack_of(lab.cluster).evidence_commands if node.spec.role == "balancer" else ()
        for command in COMMON + BY_ROLE.get(node.spec.role, []) + list(stack):
            try:
                result = node.run(command, timeout=30)
                parts.append(f"$ {command}   (exit {result.rc})\n{result.stdout}{result.stderr}")
            except Exception as error:  # evidence is best effort: never mask the test's own failure
                parts.append(f"$ {command}\n[could not run: {error}]")
        (folder / f"{node.name}.txt").write_text("\n".join(parts))
    try:
        lab.save_evidence(folder)  # what only the provider can see (a VM's console)
    except Exception as error:
        (folder / "provider-evidence-error.txt").write_text(f"{type(error).__name__}: {error}\n")
    return folder


def folder_for(reports: Path, nodeid: str) -> Path:
    return reports / "evidence" / re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid)[-120:]
