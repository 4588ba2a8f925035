"""Stage fixtures: the cluster provisioned as far as a chapter's checks need, shared by the session.

Stages only move forward (ch5 -> ch6), and pytest runs chapter 5 before 6 before 7
(see pytest_collection_modifyitems), so one lab serves every scenario.
"""

from __future__ import annotations

import pytest

from lab import log
from lab.checks.cluster import ipvs_table, wait_for_active
from lab.wait import wait_until
from lab.providers.base import Lab
from lab.provision import Provisioner

# Under TCG heartbeat needs ~50 s from start to VIP (initdead 10 s plus resource scripts).
ACTIVE_TIMEOUT = 300


@pytest.fixture(scope="session")
def chapter5_cluster(lab: Lab, provisioner: Provisioner) -> Lab:
    """Chapters 1-4 done: heartbeat started on both balancers, Apache on the web nodes."""
    with log.step("stage ch5: chapters 1-4 provisioned and loadb1 active"):
        provisioner.reach("ch5")
        wait_for_active(lab, lab.cluster.preferred_balancer.name, timeout=ACTIVE_TIMEOUT)
    return lab


@pytest.fixture(scope="session")
def chapter6_cluster(chapter5_cluster: Lab, provisioner: Provisioner) -> Lab:
    """Chapter 6 done: the Apache nodes accept the VIP and serve ldirector.html."""
    with log.step("stage ch6: chapter 6 provisioned on the Apache nodes"):
        provisioner.reach("ch6")
    return chapter5_cluster


@pytest.fixture(scope="session")
def chapter7_cluster(chapter6_cluster: Lab) -> Lab:
    """Chapter 6 in effect: ldirectord's checks succeed and the active table has every real server at weight 1.

    When chapter 6's own tests ran first they watched this happen; this wait matters
    when chapter 7 runs alone (-m chapter7).
    """
    lab = chapter6_cluster
    active = lab.node(lab.cluster.preferred_balancer.name)
    service = f"{lab.cluster.vip}:{lab.cluster.service.port}"
    reals = {f"{n.address}:{lab.cluster.service.port}" for n in lab.cluster.realservers}

    def probe() -> tuple[bool, object]:
        table = ipvs_table(active).service(service)
        weights = {r.address: r.weight for r in table.reals} if table else {}
        return all(weights.get(r, 0) > 0 for r in reals), weights

    with log.step("stage ch7: real servers in service"):
        wait_until(probe, timeout=120, interval=2, what="ldirectord to put the real servers in service")
    return lab
