"""Parse the status lines of ldirectord and of LVSSyncDaemonSwap.

    $ ldirectord ldirectord.cf status
    ldirectord for /etc/ha.d/ldirectord.cf is running with pid: 1455
    ldirectord is stopped for /etc/ha.d/ldirectord.cf

    $ /etc/ha.d/resource.d/LVSSyncDaemonSwap master status
    master running(ipvs_syncmaster pid: 1591)        (the tutorial, Ultra Monkey's script)
    master running (mcast=eth0, syncid=0)            (the lab's script, from ipvsadm -L --daemon)
    master stopped
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LD_RUNNING = re.compile(r"ldirectord for (?P<config>\S+) is running with pid: (?P<pid>\d+)")
_LD_STOPPED = re.compile(r"ldirectord is stopped for (?P<config>\S+)")
_SYNC = re.compile(r"^(?P<role>master|backup) (?P<state>running|stopped)\s*(?:\((?P<detail>[^)]*)\))?", re.M)


@dataclass(frozen=True)
class LdirectordStatus:
    running: bool
    config: str
    pid: int | None


def parse_ldirectord_status(text: str) -> LdirectordStatus:
    if m := _LD_RUNNING.search(text):
        return LdirectordStatus(True, m["config"], int(m["pid"]))
    if m := _LD_STOPPED.search(text):
        return LdirectordStatus(False, m["config"], None)
    raise ValueError(f"not ldirectord status output:\n{text}")


@dataclass(frozen=True)
class SyncSwapStatus:
    role: str
    running: bool
    detail: str | None


def parse_sync_status(text: str) -> SyncSwapStatus:
    m = _SYNC.search(text)
    if not m:
        raise ValueError(f"not LVSSyncDaemonSwap status output:\n{text}")
    return SyncSwapStatus(m["role"], m["state"] == "running", m["detail"])
