"""Stage fixtures: the cluster provisioned as far as a chapter's checks need, shared by the session.

Stages only move forward (ch5 -> ch6), and pytest runs chapter 5 before 6 before 7
(see pytest_collection_modifyitems), so one lab serves every scenario.
"""

from __future__ import annotations

import pytest

from lab import log
from lab.checks.cluster import wait_for_active
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
