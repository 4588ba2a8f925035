"""Chapter 7: Further Testing.

Real HTTP from the client node to http://192.168.0.105: stop Apache on one web node, then
both, then start them again; stop heartbeat on the active load balancer and watch the
hot-standby take over; start it again and check that the roles stay (auto_failback off),
then run chapter 5's tests again and see the inverse results. The tests run in this order
on one lab: each continues the story from where the previous one left it. With another
stack (--lab-stack), its daemon is the one stopped and started (keepalived: nopreempt).
"""

import pytest

from lab import tutorial as doc
from lab.readings import vip_holders
from lab.cluster import web_names
from lab.failover import fail_over, rejoin
from lab.stacks import stack_of
from scenarios.steps import (check_health_checker, check_ipvs_table, check_site, check_standby_alive,
                             check_sync_daemon, check_vip_listing, reaching_the_fallback)

pytestmark = [pytest.mark.chapter7, pytest.mark.usefixtures("chapter7_cluster")]
WEB = web_names()  # the real servers of lab/cluster.json
TABLE_WITHOUT_WEBSERVER1 = doc.CH6_IPVSADM_ACTIVE.replace("192.168.0.101:80             Route   1",
                                                          "192.168.0.101:80             Route   0")
TABLE_BOTH_DOWN = doc.CH5_IPVSADM_ACTIVE  # quiescent real servers, the fallback back in


@pytest.fixture(scope="module", autouse=True)
def _hand_a_reused_lab_back_as_found(request, lab):
    """Chapter 7 leaves loadb2 active. A fresh lab is thrown away; a reused one (--lab-reuse)
    is failed back to loadb1, so the next run starts where chapter 7 expects."""
    yield
    if request.config.option.lab_reuse and vip_holders(lab) == ["loadb2"]:
        fail_over(lab, "loadb2", "loadb1")
        rejoin(lab, "loadb2", "loadb1")


def test_the_site_answers_on_the_virtual_ip(tutorial, lab):
    # rr over two healthy real servers: new connections alternate between them.
    check_site(tutorial, lab, documented=doc.CH7_SITE, answered_by=WEB)


def test_the_site_still_answers_with_apache_stopped_on_one_node(tutorial, cluster, lab, loadb1, webserver1):
    webserver1.succeed("/etc/init.d/apache2 stop")
    check_ipvs_table(tutorial, cluster, loadb1, documented=TABLE_WITHOUT_WEBSERVER1, chapter="7", timeout=60)
    check_site(tutorial, lab, documented=doc.CH7_ONE_APACHE_DOWN, answered_by={"webserver2"})


def test_the_request_fails_with_both_apaches_stopped(tutorial, cluster, lab, loadb1, webserver2):
    webserver2.succeed("/etc/init.d/apache2 stop")
    check_ipvs_table(tutorial, cluster, loadb1, documented=TABLE_BOTH_DOWN, chapter="7", timeout=60)
    # It fails because no real server is in service, not because the balancer is out of reach.
    with reaching_the_fallback(tutorial, cluster, loadb1, requests=2):
        check_site(tutorial, lab, documented=doc.CH7_BOTH_APACHES_DOWN, answers=False, requests=2)


def test_the_site_recovers_when_both_apaches_start_again(tutorial, cluster, lab, loadb1, webserver1, webserver2):
    for node in (webserver1, webserver2):
        node.succeed("/etc/init.d/apache2 start")
    check_ipvs_table(tutorial, cluster, loadb1, documented=doc.CH6_IPVSADM_ACTIVE, chapter="7", timeout=60)
    check_site(tutorial, lab, documented=doc.CH7_SITE, answered_by=WEB)


def test_the_hot_standby_takes_over_when_heartbeat_stops_on_the_active(tutorial, lab, loadb1):
    assert vip_holders(lab) == ["loadb1"], "chapter 7 assumes loadb1 is the active load balancer"
    seconds = fail_over(lab, "loadb1", "loadb2")
    tutorial.figure("7", "failover: the stack stopped on loadb1 until loadb2 holds the VIP",
                    f"{seconds:.1f} s ({stack_of(lab.cluster).init_script} stop)")
    check_site(tutorial, lab, documented=doc.CH7_FAILOVER, answered_by=WEB)


def test_the_new_active_keeps_its_role_when_heartbeat_starts_again(tutorial, lab, loadb1, loadb2):
    rejoin(lab, "loadb1", "loadb2")
    holders = vip_holders(lab)
    tutorial.record("7", "loadb2 still has the active role", "loadb1, loadb2", f"ip addr sh {lab.cluster.interface}",
                    doc.CH7_NO_FAILBACK, f"VIP held by {holders}", "PASS" if holders == ["loadb2"] else "FAIL")
    assert holders == ["loadb2"], f"auto_failback is off: loadb2 should keep the VIP, but {holders} hold it"


class TestChapter5AgainGivesTheInverseResults:
    """'Do the tests from chapter 5 again on loadb1 and loadb2, and you should see the inverse results'.
    loadb1 is the standby now: each absence on it is checked while its heartbeat runs and sees loadb2 active."""

    def test_loadb2_lists_the_virtual_ip(self, tutorial, cluster, loadb2):
        check_vip_listing(tutorial, cluster, loadb2, active=True, chapter="7")

    def test_loadb1_does_not_list_the_virtual_ip(self, tutorial, cluster, loadb1):
        check_standby_alive(tutorial, cluster, loadb1, active="loadb2", chapter="7")
        check_vip_listing(tutorial, cluster, loadb1, active=False, chapter="7")

    def test_ldirectord_runs_on_loadb2(self, tutorial, cluster, loadb2):
        check_health_checker(tutorial, cluster, loadb2, active=True, chapter="7")

    def test_ldirectord_is_stopped_on_loadb1(self, tutorial, cluster, loadb1):
        check_standby_alive(tutorial, cluster, loadb1, active="loadb2", chapter="7")
        check_health_checker(tutorial, cluster, loadb1, active=False, chapter="7")

    def test_loadb2_has_the_ipvs_table(self, tutorial, cluster, loadb2):
        # Chapter 6 is done by now, so the inverse of chapter 5's table has the real servers at weight 1.
        check_ipvs_table(tutorial, cluster, loadb2, documented=doc.CH6_IPVSADM_ACTIVE, chapter="7", timeout=60)

    def test_loadb1_ipvs_table_is_empty(self, tutorial, cluster, loadb1):
        check_standby_alive(tutorial, cluster, loadb1, active="loadb2", chapter="7")
        check_ipvs_table(tutorial, cluster, loadb1, documented=doc.CH5_IPVSADM_STANDBY, chapter="7",
                         active_table=doc.CH6_IPVSADM_ACTIVE, timeout=60)

    def test_sync_master_runs_on_loadb2(self, tutorial, cluster, loadb2):
        check_sync_daemon(tutorial, cluster, loadb2, active=True, chapter="7")

    def test_sync_master_is_stopped_on_loadb1(self, tutorial, cluster, loadb1):
        check_standby_alive(tutorial, cluster, loadb1, active="loadb2", chapter="7")
        check_sync_daemon(tutorial, cluster, loadb1, active=False, chapter="7")
