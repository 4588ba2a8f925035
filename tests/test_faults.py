"""The fault verbs and their registry on scripted nodes and a fake lab: what is killed, and that
every fault still active is undone at teardown, newest first, one failure not stopping the rest."""

import os
import signal
import subprocess
import time

import pytest

from lab.errors import LabError
from lab.faults import Faults, kill_daemon, kill_tree, restart_daemon, resume_daemon, stall_daemon
from lab.providers.netns import _process_state, pids_in_namespace
from tests.fakes import FakeLab, ScriptedNode


class FaultyLab(FakeLab):
    """Records what the provider was asked to do; thawing `stuck` fails."""

    def __init__(self, stuck: str = "") -> None:
        from lab.cluster import load_cluster

        super().__init__(load_cluster(), "lvslab-test")
        self.calls: list[str] = []
        self.stuck = stuck

    def freeze(self, node: str) -> int:
        self.calls.append(f"freeze {node}")
        return 7

    def thaw(self, node: str) -> None:
        self.calls.append(f"thaw {node}")
        if node == self.stuck:
            raise LabError(f"{node} would not thaw")

    def set_link(self, node: str, *, up: bool) -> None:
        self.calls.append(f"link {'up' if up else 'down'} {node}")

    def crash(self, node: str) -> None:
        self.calls.append(f"crash {node}")

    def boot(self, node: str) -> None:
        self.calls.append(f"boot {node}")

    def isolate(self, nodes: list[str], *, on: bool) -> None:
        self.calls.append(f"isolate {'on' if on else 'off'} {' '.join(nodes)}")

    def shape_lan(self, netem: list[str] | None, nodes: list[str] | None = None) -> None:
        self.calls.append(f"netem {' '.join(netem) if netem else 'off'}" + (f" on {' '.join(nodes)}" if nodes else ""))


def test_kill_sends_sigkill_to_every_process_of_the_daemon_and_checks_they_are_gone():
    node = ScriptedNode("loadb1", [(0, "2301\n2302\n2310\n"), (0, ""), (1, "")])
    assert kill_daemon(node, "heartbeat") == [2301, 2302, 2310]
    assert node.commands == ["pgrep -x heartbeat", "kill -KILL 2301 2302 2310", "pgrep -x heartbeat"]


def test_a_daemon_that_survives_sigkill_is_the_harness_s_problem():
    node = ScriptedNode("loadb1", [(0, "2301\n"), (0, ""), (0, "2301\n")])
    with pytest.raises(LabError, match="survived SIGKILL"):
        kill_daemon(node, "heartbeat")


def test_killing_a_daemon_that_does_not_run_is_a_finding_not_a_silent_pass():
    with pytest.raises(AssertionError, match="not running on loadb1"):
        kill_daemon(ScriptedNode("loadb1", [(1, "")]), "ldirectord")


def test_the_sync_daemon_is_a_kernel_thread_and_cannot_be_killed():
    with pytest.raises(LabError, match="kernel thread"):
        kill_daemon(ScriptedNode("loadb1", [(0, "")]), "sync")


def test_undoing_a_kill_starts_the_daemon_only_if_it_is_not_running_again():
    running = ScriptedNode("loadb1", [(0, "4000\n")])
    restart_daemon(running, "heartbeat")
    assert running.commands == ["pgrep -x heartbeat"]
    dead = ScriptedNode("loadb1", [(1, ""), (0, "Starting High-Availability services: Done.")])
    restart_daemon(dead, "heartbeat")
    assert dead.commands == ["pgrep -x heartbeat", "/etc/init.d/heartbeat start"]


def test_stall_stops_heartbeat_s_master_control_process_alone_and_resume_continues_it():
    node = ScriptedNode("loadb2", [(0, "933\n"), (0, "")])
    assert stall_daemon(node, "heartbeat") == 933
    assert node.commands == ["pgrep -f '^heartbeat: master control process'", "kill -STOP 933"]
    resume_daemon(node, "heartbeat")
    assert node.commands[-1] == "pkill -CONT -f '^heartbeat: master control process'"


def test_stalling_needs_exactly_one_main_process_and_a_known_daemon():
    with pytest.raises(AssertionError, match="0 processes"):
        stall_daemon(ScriptedNode("loadb2", [(1, "")]), "heartbeat")
    with pytest.raises(LabError, match="no main process known"):
        stall_daemon(ScriptedNode("loadb2", [(0, "1\n")]), "apache2")


def test_a_deaf_node_and_a_stalled_daemon_are_undone_by_their_own_inverse():
    lab = FaultyLab()
    lab.nodes["loadb2"] = node = ScriptedNode("loadb2", [(0, "933\n"), (0, "")])
    faults = Faults(lab)
    deaf = faults.deafen("loadb2")
    stalled = faults.stall("loadb2", "heartbeat")
    assert (deaf.describe(), stalled.describe()) == ("deaf on loadb2 (every frame to it lost)",
                                                      "stall heartbeat on loadb2 (pid 933 stopped)")
    assert faults.heal_all() == []
    assert lab.calls == ["netem loss 100% on loadb2", "netem off on loadb2"]
    assert node.commands[-1] == "pkill -CONT -f '^heartbeat: master control process'"


def test_heal_all_undoes_every_active_fault_newest_first():
    lab = FaultyLab()
    faults = Faults(lab)
    frozen = faults.freeze("loadb1")
    faults.cut_link("loadb2")
    assert frozen.detail == "silent on the LAN, 7 processes stopped"
    assert faults.heal_all() == []
    assert lab.calls == ["freeze loadb1", "link down loadb2", "link up loadb2", "thaw loadb1"]
    assert faults.active == []


def test_a_fault_healed_by_the_scenario_is_not_undone_twice():
    lab = FaultyLab()
    faults = Faults(lab)
    faults.heal(faults.freeze("loadb1"))
    faults.heal_all()
    assert lab.calls == ["freeze loadb1", "thaw loadb1"]


def test_one_fault_that_cannot_be_undone_does_not_leave_the_others_in_place():
    lab = FaultyLab(stuck="loadb1")
    faults = Faults(lab)
    faults.freeze("loadb1")
    faults.cut_link("loadb1")
    faults.freeze("webserver1")
    errors = faults.heal_all()
    assert lab.calls[3:] == ["thaw webserver1", "link up loadb1", "thaw loadb1"]
    assert errors == ["freeze on loadb1 (silent on the LAN, 7 processes stopped): LabError: loadb1 would not thaw"]
    assert faults.active == []


def test_a_provider_without_node_faults_says_so():
    from lab.cluster import load_cluster

    lab = FakeLab(load_cluster(), "lvslab-test")
    for attempt in (lambda: lab.freeze("loadb1"), lambda: lab.thaw("loadb1"),
                    lambda: lab.set_link("loadb1", up=False)):
        with pytest.raises(LabError, match="not yet on the fake provider"):
            attempt()


def test_a_node_s_processes_are_found_by_their_pid_namespace():
    own = os.readlink("/proc/self/ns/pid")
    assert os.getpid() in pids_in_namespace(own)
    assert pids_in_namespace("pid:[0]") == []


def test_the_vip_sampler_reads_a_node_s_lan_addresses_and_never_takes_a_failure_for_absence(golden):
    from lab.cluster import load_cluster

    lab = FakeLab(load_cluster(), "lvslab-test")
    lab.nodes["loadb1"] = ScriptedNode("loadb1", [(0, golden("ip-addr-eth0-active.txt"))])
    lab.nodes["loadb2"] = ScriptedNode("loadb2", [(1, "Cannot find device")])
    assert lab.lan_addresses("loadb1") == ["192.168.0.103", "192.168.0.105"]
    assert lab.lan_addresses("loadb2") is None


def test_crash_partition_and_a_lossy_lan_are_each_undone_by_their_own_inverse():
    lab = FaultyLab()
    faults = Faults(lab)
    faults.crash("webserver1")
    faults.partition(["loadb1", "loadb2"])
    faults.degrade_lan(["loss", "30%"])
    assert faults.heal_all() == []
    assert lab.calls == ["crash webserver1", "isolate on loadb1 loadb2", "netem loss 30%",
                         "netem off", "isolate off loadb1 loadb2", "boot webserver1"]


def test_the_boot_of_a_crashed_netns_node_runs_its_rc_links_but_never_the_hardware_clock():
    from lab.providers.netns import BOOT

    assert "/etc/rc2.d/S*" in BOOT and "S*networking" in BOOT and "S*procps" in BOOT
    assert "hwclock" not in BOOT


def test_a_stopped_process_reads_as_frozen_and_a_gone_one_as_nothing():
    child = subprocess.Popen(["sleep", "30"])
    try:
        os.kill(child.pid, signal.SIGSTOP)
        for _ in range(50):
            if _process_state(child.pid) == "T":
                break
            time.sleep(0.02)
        assert _process_state(child.pid) == "T"
        os.kill(child.pid, signal.SIGCONT)
        time.sleep(0.1)
        assert _process_state(child.pid) in ("S", "R")
    finally:
        child.kill()
        child.wait()
    assert _process_state(child.pid) == ""


# `ps -e -o pid=,ppid=,stat=,comm=,args=` on a balancer stuck mid-takeover: heartbeat's
# processes, the ResourceManager it started and a resource script below that, an ip-request-resp
# handler orphaned (its parent gone: reparented to 1) with its own child, and other processes
# (ldirectord's daemon as a real lab lists it, left to its stop script).
STUCK = """    1     0 Ss   sh              /bin/sh /run/node-init
  230     1 SLs  heartbeat       heartbeat: master control process
  231   230 SL   heartbeat       heartbeat: FIFO reader
  232   230 SL   heartbeat       heartbeat: write: bcast eth0
  480   230 S    ResourceManager /bin/sh /usr/share/heartbeat/ResourceManager takegroup ldirectord::ldirectord.cf
  497   480 S    IPaddr2         /bin/sh /etc/ha.d/resource.d/IPaddr2 192.168.0.105/24/eth0 start
  530     1 S    ip-request-resp /bin/sh /usr/lib/heartbeat/ip-request-resp
  531   530 S    sleep           sleep 1
  610     1 Ss   ldirectord      /usr/bin/perl -w /etc/ha.d/resource.d/ldirectord ldirectord.cf start
  620     1 Z    heartbeat       [heartbeat] <defunct>
"""
KILLED = "230 231 232 480 497 530 531"


def test_kill_tree_kills_a_stuck_heartbeat_with_the_resource_scripts_it_started():
    after = "    1     0 Ss   sh   /bin/sh /run/node-init\n  610     1 Ss   ldirectord /usr/bin/perl -w /etc/ha.d/resource.d/ldirectord ldirectord.cf start\n"
    node = ScriptedNode("loadb2", [(0, STUCK), (0, ""), (0, STUCK), (0, ""), (0, after)])
    assert kill_tree(node, "heartbeat") == [int(p) for p in KILLED.split()]
    assert node.commands[1] == f"kill -STOP {KILLED}"  # stopped first: none forks unseen
    assert node.commands[3] == f"kill -KILL {KILLED}"  # not the ldirectord daemon, not the zombie
    assert node.commands.count(f"kill -STOP {KILLED}") == 1


def test_kill_tree_reads_the_tree_again_for_a_child_forked_before_the_stop():
    forked = STUCK + "  512   497 S    ip              ip addr add 192.168.0.105/24 dev eth0\n"
    gone = "    1     0 Ss   sh              /bin/sh /run/node-init\n"
    node = ScriptedNode("loadb2", [(0, STUCK), (0, ""), (0, forked), (0, ""), (0, forked), (0, ""), (0, gone)])
    assert kill_tree(node, "heartbeat") == [230, 231, 232, 480, 497, 512, 530, 531]
    assert node.commands[3] == "kill -STOP 512"
    assert node.commands[5] == "kill -KILL 230 231 232 480 497 512 530 531"


def test_kill_tree_of_a_daemon_that_does_not_run_is_not_a_silent_pass():
    with pytest.raises(AssertionError, match="not running on loadb1"):
        kill_tree(ScriptedNode("loadb1", [(0, "    1     0 Ss   sh   /bin/sh /run/node-init\n")]), "heartbeat")
