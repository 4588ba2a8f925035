"""Parse keepalived's own data: the dump its VRRP process writes on SIGUSR1 (/tmp/keepalived.data).

    $ kill -USR1 $(cat /run/keepalived.pid); cat /tmp/keepalived.data
    ------< VRRP Topology >------
     VRRP Instance = VI_LVS
       VRRP Version = 2
       State = BACKUP
       ...
       Master router = 192.168.0.103
       Master priority = 150

Only the lines the lab reads are parsed: the instance's state and, on a backup, the master it
hears (the other balancer's address and priority).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NOT_RUNNING = "keepalived is not running"
_INSTANCE = re.compile(r"^\s*VRRP Instance = (?P<name>\S+)", re.M)
_STATE = re.compile(r"^\s*State = (?P<state>[A-Z]+)", re.M)
_MASTER = re.compile(r"^\s*Master router = (?P<address>[0-9.]+)", re.M)


@dataclass(frozen=True)
class VrrpView:
    running: bool
    instance: str | None
    state: str | None           # MASTER, BACKUP, FAULT, INIT (keepalived's names)
    master_router: str | None   # the master this node hears (a backup's view), None when not printed


def parse_vrrp_data(text: str) -> VrrpView:
    if NOT_RUNNING in text:
        return VrrpView(False, None, None, None)
    instance = _INSTANCE.search(text)
    if not instance:
        raise ValueError(f"not keepalived's VRRP data (no 'VRRP Instance = ' line):\n{text}")
    state = _STATE.search(text, instance.end())
    master = _MASTER.search(text, instance.end())
    return VrrpView(True, instance["name"], state["state"] if state else None, master["address"] if master else None)
