"""What the kernel's least-connection schedulers decide, written from their sources
(net/netfilter/ipvs/ip_vs_lc.c, ip_vs_wlc.c, ip_vs_sed.c, ip_vs_nq.c, Linux 6.1), so that the
schedulers family can say, before each new connection, where each of them must send it.

Each walks the service's real servers in the kernel's list, skips those with weight 0
(quiesced by ldirectord), and takes the one of least cost; on equal cost the first in its list:

    lc   (active << 8) + inactive               ip_vs_dest_conn_overhead(); the weight is ignored
    wlc  ((active << 8) + inactive) / weight    compared as loh * w(dest) > doh * w(least)
    sed  (active + 1) / weight                  ip_vs_sed_dest_overhead(): inactive ones ignored
    nq   the first server with no active connection, whatever its weight; if none, as sed

`ipvsadm -L -n` shows every input (Weight, ActiveConn, InActConn). Two things it cannot settle,
so `decide` answers None for them rather than guess: a tie (the kernel's list order decides),
and inactive counts so close to tipping the choice that an entry expiring between the read and
the connection could (TIME_WAIT entries expire on their own).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

LEAST_CONNECTION = ("lc", "wlc", "sed", "nq")
HOLDS = 6  # connections the family's case holds open one after the other (tests/test_scheduler_model.py: why six)
INACTIVE_SLACK = 3  # inactive entries that may expire between reading the table and the next SYN


@dataclass(frozen=True)
class Load:
    """One real server as `ipvsadm -L -n` shows it."""
    name: str
    weight: int
    active: int
    inactive: int = 0


def cost(scheduler: str, load: Load, *, inactive: int | None = None) -> Fraction:
    """The kernel's cost of `load` for `scheduler` (nq's idle rule aside); `inactive` overrides the count."""
    overhead = (load.active << 8) + (load.inactive if inactive is None else inactive)
    if scheduler == "lc":
        return Fraction(overhead)
    if scheduler == "wlc":
        return Fraction(overhead, load.weight)
    if scheduler in ("sed", "nq"):
        return Fraction(load.active + 1, load.weight)
    raise ValueError(f"not a least-connection scheduler: {scheduler!r} (one of {', '.join(LEAST_CONNECTION)})")


def decide(scheduler: str, loads: list[Load], *, slack: int = INACTIVE_SLACK) -> str | None:
    """The server the kernel sends the next new connection to, or None when the table cannot settle it."""
    candidates = [load for load in loads if load.weight > 0]
    if scheduler == "nq":
        idle = [load for load in candidates if load.active == 0]
        if idle:
            return idle[0].name if len(idle) == 1 else None  # several idle: the first in the kernel's list
    if not candidates:
        return None
    best = min(candidates, key=lambda load: cost(scheduler, load))
    # It must win even if its inactive entries were `slack` more and every other's `slack` fewer.
    worst_case = cost(scheduler, best, inactive=best.inactive + slack)
    for other in candidates:
        if other is not best and cost(scheduler, other, inactive=max(0, other.inactive - slack)) <= worst_case:
            return None
    return best.name


FORMULAS = {
    "lc": "the least (active << 8) + inactive; the weights are ignored",
    "wlc": "the least ((active << 8) + inactive) / weight",
    "sed": "the least (active + 1) / weight; inactive connections are ignored",
    "nq": "an idle server (no active connection) whatever its weight; else the least (active + 1) / weight",
}


def describe(loads: list[Load]) -> str:
    """`webserver1 2 open 5 closed (weight 3), webserver2 ...`: what a decision was made on."""
    return ", ".join(f"{l.name} {l.active} open {l.inactive} closed (weight {l.weight})" for l in loads)
