"""Stages: the cluster provisioned as far as a chapter's checks need, and settled.

Stages only move forward (ch5 -> ch6 -> ch7), and pytest runs chapter 5 before 6 before 7
(see pytest_collection_modifyitems), so one lab serves every scenario. `settle` holds the
readiness waits, shared by the stage fixtures (lab/pytest_plugin.py) and by `lvslab up`
(lab/agent.py). No pytest here: `lvslab` imports this module, and every import costs seconds
under TCG.
"""

from __future__ import annotations

from lab.readings import ipvs_table, vip_holders, wait_for_active
from lab.providers.base import Lab
from lab.provision import Provisioner
from lab.wait import wait_until

# Under TCG heartbeat needs ~40 s from start to VIP (initdead 10 s plus resource scripts).
ACTIVE_TIMEOUT = 300
IN_SERVICE_TIMEOUT = 120
STAGES = ("ch5", "ch6", "ch7")
PROVISIONED_BY = {"ch5": "ch5", "ch6": "ch6", "ch7": "ch6"}  # chapter 7 only tests


def wait_for_real_servers(lab: Lab) -> None:
    """ldirectord's checks succeed: the active's table (whichever balancer holds the VIP, which
    after chapter 7's failover is loadb2) has every real server at a weight above 0."""
    service = f"{lab.cluster.vip}:{lab.cluster.service.port}"
    reals = {lab.cluster.real_server(n.name) for n in lab.cluster.realservers}

    def probe() -> tuple[bool, object]:
        holders = vip_holders(lab)
        if len(holders) != 1:
            return False, f"the VIP is held by {holders}"
        table = ipvs_table(lab.node(holders[0])).service(service)
        weights = {r.address: r.weight for r in table.reals} if table else {}
        return all(weights.get(r, 0) > 0 for r in reals), weights

    wait_until(probe, timeout=IN_SERVICE_TIMEOUT, interval=2, what="ldirectord to put the real servers in service")


def settle(lab: Lab, stage: str) -> None:
    """Wait until what `stage` provisioned has taken effect. A stack that never makes the
    preferred balancer active says why in its own logs: their last lines go with the failure
    (CI of 2026-12-07: `lvslab up` waited 300 s with nobody holding the VIP, and the lab's
    console log went with the microVM)."""
    if stage == "ch5":
        try:
            wait_for_active(lab, lab.cluster.preferred_balancer.name, timeout=ACTIVE_TIMEOUT)
        except AssertionError as failure:
            raise AssertionError(f"{failure}\n{stack_said(lab)}") from None
    elif stage == "ch7":
        wait_for_real_servers(lab)


def reach(lab: Lab, provisioner: Provisioner, stage: str) -> None:
    """Provision and settle every stage up to `stage`."""
    for name in STAGES[: STAGES.index(stage) + 1]:
        provisioner.provision(PROVISIONED_BY[name])
        settle(lab, name)


SAID_LINES = 40


def stack_said(lab: Lab, lines: int = SAID_LINES) -> str:
    """The last `lines` lines of each balancer's stack logs (heartbeat's ha-log, keepalived's and
    Pacemaker's have none of their own: then that is said)."""
    from lab.stacks import stack_of

    stack = stack_of(lab.cluster)
    paths = stack.logs
    if not paths:
        return f"({stack.name} keeps no log of its own: see the evidence's syslog)"
    said = []
    for spec in lab.cluster.balancers:
        try:
            text = lab.logs_since(spec.name, paths, [0] * len(paths)).splitlines()
        except Exception as error:  # never hide the failure this explains
            text = [f"(could not be read: {type(error).__name__}: {error})"]
        said.append(f"{spec.name}'s {', '.join(paths)}, last {lines} lines:\n" + "\n".join(text[-lines:]))
    return "\n".join(said)
