"""Readings of the whole cluster, taken on its nodes and parsed by lab/checks/ (which only parse): who holds
the VIP, a balancer's table, its counters once settled. These run commands and wait; the parsers do not."""

from __future__ import annotations

import time
from typing import Callable

from lab.checks.ipvsadm import IpvsTable, Stats, parse_stats, parse_table
from lab.errors import LabError
from lab.node import Node
from lab.providers.base import Lab
from lab.wait import wait_until

# The kernel sums its per-CPU IPVS counters into what `ipvsadm --stats` reads only on the rate
# estimator's tick, every 2 s (ip_vs_est.c), so a reading taken right after a request can lag.
ESTIMATOR_TICK = 2.2


def ipvs_table(node: Node) -> IpvsTable:
    return parse_table(node.succeed(["ipvsadm", "-L", "-n"]))


READ_TIMEOUT = 30.0


def vip_holders(lab: Lab) -> list[str]:
    """The balancers whose LAN interface lists the VIP now (Lab.lan_addresses: netlink on netns, no
    process started; a crashed node lists nothing). A reading that fails is an error, never absence;
    each may take READ_TIMEOUT (a VM's ssh under TCG during a failover took over 3 s: CI run of
    2026-11-27, Vagrant, chapter 7)."""
    cluster = lab.cluster
    held = []
    for spec in cluster.balancers:
        addresses = lab.lan_addresses(spec.name, timeout=READ_TIMEOUT)
        if addresses is None:
            raise LabError(f"could not read {spec.name}'s addresses on {cluster.interface}")
        if cluster.vip in addresses:
            held.append(spec.name)
    return held


def wait_for_active(lab: Lab, name: str, *, timeout: float) -> IpvsTable:
    """Wait until `name` alone holds the VIP and runs the virtual service; return its table."""
    cluster = lab.cluster
    service = f"{cluster.vip}:{cluster.service.port}"

    def probe() -> tuple[bool, str]:
        holders = vip_holders(lab)
        table = ipvs_table(lab.node(name))
        ok = holders == [name] and table.service(service) is not None
        return ok, f"VIP held by {holders or 'nobody'}; {name}'s table: {table}"

    wait_until(probe, timeout=timeout, interval=3, what=f"{name} to become the active balancer")
    return ipvs_table(lab.node(name))


def service_stats(node: Node, service: str) -> dict[str, Stats]:
    """{"": the virtual service's totals, real server: its counters} on `node` ({} without the service)."""
    return parse_stats(node.succeed(["ipvsadm", "-L", "-n", "--stats", "--exact"])).get(service, {})


def settled_stats(node: Node, service: str, grew: Callable[[dict[str, Stats]], bool], *,
                  what: str, timeout: float = 10) -> dict[str, Stats]:
    """The counters once `grew` holds and one more estimator tick has passed (so packets that
    came after the first tick are counted too). Raises WaitTimeout with the last reading."""
    def probe() -> tuple[bool, object]:
        now = service_stats(node, service)
        return grew(now), now

    wait_until(probe, timeout=timeout, interval=0.5, what=what)
    time.sleep(ESTIMATOR_TICK)
    return service_stats(node, service)
