"""Absence checks need a live subject, and a failed request a reachable balancer.

The standby's heartbeat view (cl_status) is parsed from recorded output; the steps that use it
run on scripted nodes, so a dead standby and a balancer that never saw the request are shown
to fail these checks without a lab.
"""

import pytest

from lab.checks.heartbeat import parse_heartbeat_view
from lab.cluster import load_cluster
from lab.stacks import STACKS
from lab.report import TutorialReport
from scenarios.steps import check_standby_alive, reaching_the_fallback
from tests.fakes import ScriptedNode

STATS = """\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  192.168.0.105:80                   {total}      40        0     3000        0
  -> 127.0.0.1:80                       {fallback}       8        0      480        0
  -> 192.168.0.101:80                   10      16        0     1260        0
  -> 192.168.0.102:80                   10      16        0     1260        0
"""


def test_heartbeat_view_of_a_live_standby(golden):
    view = parse_heartbeat_view(golden("cl-status-standby.txt"))
    assert (view.running, view.peer, view.resources) == (True, "active", "local")


def test_heartbeat_view_of_a_stopped_heartbeat(golden):
    view = parse_heartbeat_view(golden("cl-status-stopped.txt"))
    assert (view.running, view.peer, view.resources) == (False, None, None)
    refused = parse_heartbeat_view("Heartbeat is apparently running on this machine, but refuses my connection\n")
    assert not refused.running


def test_a_node_that_took_over_from_a_stopped_peer_reads_active():
    """rscstatus is read also after nodestatus said dead (exit 1): failover waits for "all"."""
    from lab.stacks import STACKS

    cluster = load_cluster()
    stack = STACKS["heartbeat"]
    assert "nodestatus loadb1;" in stack.status_command(cluster.node("loadb1"))
    view = stack.view(cluster.node("loadb2"), cluster.node("loadb1"), "Heartbeat is running on this machine.\ndead\nall\n")
    assert (view.role, view.peer_seen) == ("active", False)
    mid = stack.view(cluster.node("loadb2"), cluster.node("loadb1"), "Heartbeat is running on this machine.\ndead\ntransition\n")
    assert mid.role == "unsettled"


def test_heartbeat_view_rejects_other_text():
    with pytest.raises(ValueError):
        parse_heartbeat_view("sh: 1: cl_status: not found")


def test_a_heartbeat_that_said_nothing_is_not_settled_not_a_harness_crash():
    stack, cluster = STACKS["heartbeat"], load_cluster()
    silent = stack.view(cluster.node("loadb2"), cluster.node("loadb1"), "")
    assert (silent.running, silent.role, silent.peer_seen) == (False, "unsettled", False)
    assert silent.said == "(cl_status printed nothing)"


def test_the_standby_premise_passes_on_a_live_standby_and_fails_on_a_dead_one(golden):
    cluster, report = load_cluster(), TutorialReport()
    check_standby_alive(report, cluster, ScriptedNode("loadb2", [(0, golden("cl-status-standby.txt"))]),
                            active="loadb1", timeout=0)
    with pytest.raises(AssertionError, match="heartbeat is not running on the hot-standby loadb2"):
        check_standby_alive(report, cluster, ScriptedNode("loadb2", [(1, golden("cl-status-stopped.txt"))]),
                                active="loadb1", timeout=0)
    assert [r.verdict for r in report.records] == ["PASS", "FAIL"]


def test_the_standby_premise_fails_when_the_standby_does_not_see_the_active_or_holds_resources():
    cluster = load_cluster()
    # what loadb1 said once loadb2's heartbeat was killed: loadb2 dead, and it took loadb2's share too
    lonely = "Heartbeat is running on this machine.\ndead\n"  # as before rscstatus was read after a dead peer
    with pytest.raises(AssertionError, match="should see loadb2 active and hold nothing itself; its own view: role unsettled, loadb2 seen active: False"):
        check_standby_alive(TutorialReport(), cluster, ScriptedNode("loadb1", [(1, lonely)]),
                                active="loadb2", timeout=0)
    # "local" is loadb1's whole haresources line: a standby loadb1 must hold "none"
    holding = "Heartbeat is running on this machine.\nactive\nlocal\n"
    with pytest.raises(AssertionError, match="its own view: role active, loadb2 seen active: True"):
        check_standby_alive(TutorialReport(), cluster, ScriptedNode("loadb1", [(0, holding)]),
                                active="loadb2", timeout=0)


def test_failed_requests_count_only_when_the_balancer_sent_them_to_the_fallback():
    cluster = load_cluster()
    before, after = STATS.format(total=22, fallback=2), STATS.format(total=24, fallback=4)
    report = TutorialReport()
    with reaching_the_fallback(report, cluster, ScriptedNode("loadb1", [(0, before), (0, after)]), requests=2,
                               timeout=0):
        pass
    # a client that never reached the balancer: the counters stand still
    with pytest.raises(AssertionError, match="should have sent the 2 failed requests .* grew by 0 \\(from 2\\)"):
        with reaching_the_fallback(report, cluster, ScriptedNode("loadb1", [(0, before), (0, before)]),
                                   requests=2, timeout=0):
            pass
    assert [r.verdict for r in report.records] == ["PASS", "FAIL"]


def test_keepalived_view_of_a_live_backup(golden):
    """keepalived's own data (SIGUSR1 dump), recorded on loadb2 in the lab: BACKUP, hearing loadb1."""
    from lab.checks.keepalived import parse_vrrp_data
    from lab.stacks import STACKS

    text = golden("keepalived-data-backup.txt")
    vrrp = parse_vrrp_data(text)
    assert (vrrp.running, vrrp.instance, vrrp.state, vrrp.master_router) == (True, "VI_LVS", "BACKUP", "192.168.0.103")
    cluster = load_cluster(stack="keepalived")
    view = STACKS["keepalived"].view(cluster.node("loadb2"), cluster.node("loadb1"), text)
    assert (view.running, view.role, view.peer_seen) == (True, "standby", True)
    # the same backup, asked about a peer it does not hear as master
    assert not STACKS["keepalived"].view(cluster.node("loadb2"), cluster.node("loadb2"), text).peer_seen
    assert parse_vrrp_data("keepalived is not running\n").running is False
    with pytest.raises(ValueError):
        parse_vrrp_data("cat: /tmp/keepalived.data: No such file or directory")


def test_the_standby_premise_on_keepalived_fails_on_a_stopped_or_master_standby(golden):
    cluster = load_cluster(stack="keepalived")
    report = TutorialReport()
    check_standby_alive(report, cluster, ScriptedNode("loadb2", [(0, golden("keepalived-data-backup.txt"))]),
                        active="loadb1", timeout=0)
    with pytest.raises(AssertionError, match="keepalived is not running on the hot-standby loadb2"):
        check_standby_alive(report, cluster, ScriptedNode("loadb2", [(1, "keepalived is not running\n")]),
                            active="loadb1", timeout=0)
    master = golden("keepalived-data-backup.txt").replace("State = BACKUP", "State = MASTER")
    with pytest.raises(AssertionError, match="role active"):
        check_standby_alive(report, cluster, ScriptedNode("loadb2", [(0, master)]), active="loadb1", timeout=0)
    assert [r.verdict for r in report.records] == ["PASS", "FAIL", "FAIL"]


@pytest.mark.parametrize(("node", "rscstatus", "role"), [
    ("loadb1", "local", "active"),    # haresources names loadb1: its share is everything
    ("loadb2", "local", "standby"),   # loadb2's share is empty
    ("loadb2", "all", "active"), ("loadb1", "none", "standby"), ("loadb2", "transition", "unsettled"),
])
def test_heartbeat_roles_from_rscstatus(node, rscstatus, role):
    from lab.stacks import STACKS

    cluster = load_cluster()
    peer = cluster.node("loadb2" if node == "loadb1" else "loadb1")
    view = STACKS["heartbeat"].view(cluster.node(node), peer,
                                    f"Heartbeat is running on this machine.\nactive\n{rscstatus}\n")
    assert (view.running, view.role, view.peer_seen) == (True, role, True)


def test_heartbeat_role_of_a_stopped_heartbeat_is_down(golden):
    from lab.stacks import STACKS

    cluster = load_cluster()
    view = STACKS["heartbeat"].view(cluster.node("loadb2"), cluster.node("loadb1"), golden("cl-status-stopped.txt"))
    assert (view.running, view.role) == (False, "down")


def test_pacemaker_view_from_crm_mon(golden):
    """Recorded on loadb2 in the lab: both online, the group started on loadb1."""
    from lab.checks.pacemaker import parse_crm_mon
    from lab.stacks import STACKS

    text = golden("crm-mon-standby.xml")
    cluster_view = parse_crm_mon(text)
    assert cluster_view.online == {"loadb1": True, "loadb2": True}
    assert [(r.id, r.role, r.nodes) for r in cluster_view.group] == [
        ("ldirectord", "Started", ("loadb1",)), ("sync-master", "Started", ("loadb1",)), ("vip", "Started", ("loadb1",))]
    cluster = load_cluster(stack="pacemaker")
    pacemaker = STACKS["pacemaker"]
    standby = pacemaker.view(cluster.node("loadb2"), cluster.node("loadb1"), text)
    active = pacemaker.view(cluster.node("loadb1"), cluster.node("loadb2"), text)
    assert (standby.running, standby.role, standby.peer_seen) == (True, "standby", True)
    assert active.role == "active"
    # the group half moved (a takeover under way) is neither role; loadb1 gone from the membership
    moving = text.replace('<node name="loadb1" id="1" cached="true"/>\n      </resource>\n      <resource id="vip"',
                          '<node name="loadb2" id="2" cached="true"/>\n      </resource>\n      <resource id="vip"', 1)
    assert pacemaker.view(cluster.node("loadb2"), cluster.node("loadb1"), moving).role == "unsettled"
    alone = text.replace('<node name="loadb1" id="1" online="true"', '<node name="loadb1" id="1" online="false"')
    assert not pacemaker.view(cluster.node("loadb2"), cluster.node("loadb1"), alone).peer_seen
    stopped = pacemaker.view(cluster.node("loadb2"), cluster.node("loadb1"),
                             "crm_mon: Error: cluster is not available on this node\n")
    assert (stopped.running, stopped.role) == (False, "down")
