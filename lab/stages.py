"""Stages: the cluster provisioned as far as a chapter's checks need, and settled.

Stages only move forward (ch5 -> ch6 -> ch7), and pytest runs chapter 5 before 6 before 7
(see pytest_collection_modifyitems), so one lab serves every scenario. `settle` holds the
readiness waits, shared by the fixtures below and by `lvslab up` (lab/agent.py).
"""

from __future__ import annotations

import pytest

from lab import log
from lab.checks.cluster import ipvs_table, vip_holders, wait_for_active
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
    """Wait until what `stage` provisioned has taken effect."""
    if stage == "ch5":
        wait_for_active(lab, lab.cluster.preferred_balancer.name, timeout=ACTIVE_TIMEOUT)
    elif stage == "ch7":
        wait_for_real_servers(lab)


def reach(lab: Lab, provisioner: Provisioner, stage: str) -> None:
    """Provision and settle every stage up to `stage`."""
    for name in STAGES[: STAGES.index(stage) + 1]:
        provisioner.reach(PROVISIONED_BY[name])
        settle(lab, name)


@pytest.fixture(scope="session")
def chapter5_cluster(lab: Lab, provisioner: Provisioner) -> Lab:
    """Chapters 1-4 done: heartbeat started on both balancers, Apache on the web nodes, loadb1 active."""
    with log.step("stage ch5: chapters 1-4 provisioned and loadb1 active"):
        provisioner.reach("ch5")
        settle(lab, "ch5")
    return lab


@pytest.fixture
def not_past_chapter5(provisioner: Provisioner) -> None:
    """Chapter 5's checks describe the cluster before chapter 6; a reused lab may be past that."""
    if "ch6" in provisioner.done:
        pytest.skip("this (reused) lab is past chapter 5: its Apache nodes are configured; "
                    "`lvslab down; lvslab up --stage ch5` to check chapter 5 again")


@pytest.fixture(scope="session")
def chapter6_cluster(chapter5_cluster: Lab, provisioner: Provisioner) -> Lab:
    """Chapter 6 done: the Apache nodes accept the VIP and serve ldirector.html."""
    with log.step("stage ch6: chapter 6 provisioned on the Apache nodes"):
        provisioner.reach("ch6")
    return chapter5_cluster


@pytest.fixture(scope="session")
def chapter7_cluster(chapter6_cluster: Lab) -> Lab:
    """Chapter 6 in effect: every real server in service (chapter 6's own tests watched it happen;
    this wait matters when chapter 7 runs alone, -m chapter7)."""
    with log.step("stage ch7: real servers in service"):
        settle(chapter6_cluster, "ch7")
    return chapter6_cluster
