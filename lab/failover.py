"""The tutorial's failover and rejoin, in one place, on whichever stack runs the pair.

Chapter 7: "stop heartbeat on the active load balancer and watch the hot-standby take over;
start it again and check that the roles stay" (auto_failback off). The sync family, chapter 7's
hand-back of a reused lab and the fault scenarios all do the same two steps.
"""

from __future__ import annotations

import time

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
    started = time.monotonic()
    stack.stop(lab.node(active))
    wait_for_active(lab, standby, timeout=TAKEOVER_TIMEOUT)
    seconds = time.monotonic() - started

    def complete() -> tuple[bool, str]:
        view = stack.read(lab.node(standby), lab.cluster.node(active))
        return view.role == ACTIVE, f"{standby}: {view.role}\n{view.said}"

    wait_until(complete, timeout=TAKEOVER_TIMEOUT, interval=2, what=f"{stack.name} on {standby} to complete its takeover")
    return seconds


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
