"""Chapter 5: Test The Load Balancers.

"Let's check if both load balancers work as expected" - before the Apache nodes are
configured (chapter 6), so the real servers are quiescent (weight 0) and the fallback serves.
loadb1 is the active load balancer (first in haresources), loadb2 the hot-standby. Each absence
on the standby is checked on a live standby: its heartbeat runs and sees loadb1 active first.
With another stack (--lab-stack) the same checks run on its daemon; where it legitimately
behaves otherwise (keepalived keeps the service and its checks on the standby) the check
asserts that stack's behaviour and the report shows it as DIFFERS.
"""

import pytest

from lab import tutorial as doc
from scenarios.steps import (check_health_checker, check_ipvs_table, check_standby_alive, check_sync_daemon,
                             check_vip_listing)

pytestmark = [pytest.mark.chapter5, pytest.mark.usefixtures("chapter5_cluster", "not_past_chapter5")]


def test_active_load_balancer_lists_the_virtual_ip(tutorial, cluster, loadb1):
    check_vip_listing(tutorial, cluster, loadb1, active=True)


def test_hot_standby_does_not_list_the_virtual_ip(tutorial, cluster, loadb2):
    check_standby_alive(tutorial, cluster, loadb2, active="loadb1")
    check_vip_listing(tutorial, cluster, loadb2, active=False)


def test_ldirectord_runs_on_the_active_load_balancer(tutorial, cluster, loadb1):
    check_health_checker(tutorial, cluster, loadb1, active=True)


def test_ldirectord_is_stopped_on_the_hot_standby(tutorial, cluster, loadb2):
    check_standby_alive(tutorial, cluster, loadb2, active="loadb1")
    check_health_checker(tutorial, cluster, loadb2, active=False)


def test_active_ipvs_table_has_quiescent_real_servers_and_the_fallback(tutorial, cluster, loadb1):
    # ldirectord fills the table a few checkintervals after heartbeat started it.
    check_ipvs_table(tutorial, cluster, loadb1, documented=doc.CH5_IPVSADM_ACTIVE, timeout=60)


def test_hot_standby_ipvs_table_is_empty(tutorial, cluster, loadb2):
    check_standby_alive(tutorial, cluster, loadb2, active="loadb1")
    check_ipvs_table(tutorial, cluster, loadb2, documented=doc.CH5_IPVSADM_STANDBY,
                     active_table=doc.CH5_IPVSADM_ACTIVE, timeout=60)


def test_sync_master_runs_on_the_active_load_balancer(tutorial, cluster, loadb1):
    check_sync_daemon(tutorial, cluster, loadb1, active=True)


def test_sync_master_is_stopped_on_the_hot_standby(tutorial, cluster, loadb2):
    check_standby_alive(tutorial, cluster, loadb2, active="loadb1")
    check_sync_daemon(tutorial, cluster, loadb2, active=False)
