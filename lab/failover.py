"""The tutorial's failover and rejoin, in one place, on whichever stack runs the pair.

Chapter 7: "stop heartbeat on the active load balancer and watch the hot-standby take over;
start it again and check that the roles stay" (auto_failback off). The sync family, chapter 7's
hand-back of a reused lab and the fault scenarios all do the same two steps.
"""

from __future__ import annotations

import time

from lab.checks.heartbeat import lost_takeover_message
from lab.cluster import Cluster
from lab.errors import KnownFinding
from lab.faults import kill_tree
from lab.readings import wait_for_active
from lab.providers.base import Lab
from lab.stacks import stack_of
from lab.stacks.base import ACTIVE, STANDBY
from lab.wait import wait_until

TAKEOVER_TIMEOUT = 180
REJOIN_TIMEOUT = 180


def fail_over(lab: Lab, active: str, standby: str) -> float:
    """Stop the stack (heartbeat, keepalived) on `active`; the seconds until `standby` alone holds
    the VIP and runs the virtual service. Returns once the standby's own stack also says its
    takeover is complete, as an operator waits before starting the old active again: heartbeat
    started on the old active while the new one was still acquiring its resources (a slow CI
    run: "T_STARTING received during takeover") left the new active in transition for good, and
    `heartbeat stop` on it then hung (README, findings)."""
    stack = stack_of(lab.cluster)
    marks = lab.log_sizes(standby, stack.logs) if stack.logs else None
    started = time.monotonic()
    stack.stop(lab.node(active))
    wait_for_active(lab, standby, timeout=TAKEOVER_TIMEOUT)
    seconds = time.monotonic() - started

    def complete() -> tuple[bool, str]:
        view = stack.read(lab.node(standby), lab.cluster.node(active))
        return view.role == ACTIVE, f"{standby}: {view.role}\n{view.said}"

    try:
        wait_until(complete, timeout=TAKEOVER_TIMEOUT, interval=2,
                   what=f"{stack.name} on {standby} to complete its takeover")
    except AssertionError as failure:
        finding = lost_takeover(lab, standby, marks, what=str(failure))
        if finding is None:
            raise
        raise KnownFinding(f"{finding}. HARNESS STEP afterwards: {restart_stuck(lab, standby, active)}") from failure
    return seconds


def lost_takeover(lab: Lab, node: str, marks: list[int] | None, *, what: str) -> KnownFinding | None:
    """The finding, if `node`'s stack log since `marks` (Lab.log_sizes) shows mach_down's message
    that its takeover was done lost in heartbeat's FIFO (lost_takeover_message); `what`: how the
    takeover was seen not to complete. None: not that."""
    logs = stack_of(lab.cluster).logs
    lost = lost_takeover_message(lab.logs_since(node, logs, marks)) if logs and marks is not None else []
    return KnownFinding(f"{what}; heartbeat on {node} lost mach_down's message that its takeover was done "
                        f"(its FIFO reader's one-second alarm, lab/checks/heartbeat.py): {lost}") if lost else None


def resource_stops(cluster: Cluster) -> list[str]:
    """haresources' scripts, stopped by hand in reverse order (what heartbeat's give-up runs)."""
    return [f"/etc/ha.d/resource.d/IPaddr2 {cluster.vip}/{cluster.prefixlen}/{cluster.interface}/{cluster.broadcast} stop",
            "/etc/ha.d/resource.d/LVSSyncDaemonSwap master stop",
            "/etc/ha.d/resource.d/ldirectord ldirectord.cf stop"]


def restart_stuck(lab: Lab, node: str, peer: str) -> str:
    """An operator's repair of a heartbeat stuck "in transition" (its `stop` hangs there): SIGKILL
    it, stop its resources by hand, start it again (alone, it takes everything after initdead),
    then start `peer`'s, which rejoins as the standby. What was done and how it ended."""
    stack, target = stack_of(lab.cluster), lab.node(node)
    steps = [f"SIGKILL heartbeat and what it started (pids {kill_tree(target, 'heartbeat')})"]
    steps += [f"{step}: exit {target.run(step, timeout=120).rc}" for step in resource_stops(lab.cluster)]
    stack.start(target)
    steps.append(f"{stack.init_script} start")

    def alone() -> tuple[bool, str]:
        view = stack.read(target, lab.cluster.node(peer))
        return view.role == ACTIVE, view.role

    try:
        wait_until(alone, timeout=TAKEOVER_TIMEOUT, interval=3, what=f"{node} alone active again")
        rejoin(lab, peer, node)
        steps.append(f"{node} active, {peer} its standby")
    except AssertionError as failure:
        steps.append(f"not repaired: {failure}")
    return "; ".join(steps)


def rejoin(lab: Lab, node: str, active: str) -> None:
    """Start the stack on `node` again and wait until, in each balancer's own view, `node` is the
    standby and `active` stays active (heartbeat: cl_status rscstatus; keepalived: its VRRP state)."""
    stack = stack_of(lab.cluster)
    stack.start(lab.node(node))

    def settled() -> tuple[bool, dict[str, str]]:
        seen = {name: stack.read(lab.node(name), lab.cluster.node(other)).role
                for name, other in ((node, active), (active, node))}
        return seen == {node: STANDBY, active: ACTIVE}, seen

    wait_until(settled, timeout=REJOIN_TIMEOUT, interval=3, what=f"{stack.name} on {node} to rejoin as the standby")
