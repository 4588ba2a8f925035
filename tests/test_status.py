"""`lvslab status` reads each balancer's own stack: heartbeat's daemons, or keepalived's."""

from lab.cluster import load_cluster
from lab.status import MARK, lab_status, render
from tests.fakes import FakeLab, ScriptedNode


def _lab(golden, stack: str, daemons: list[str]) -> FakeLab:
    """loadb1 active (recorded `ip addr`, table), loadb2 without the VIP, the web nodes serving."""
    cluster = load_cluster(stack=stack)
    lab = FakeLab(cluster, "lvslab-status")
    addr = golden("ip-addr-eth0-active.txt").rstrip()
    standby_addr = "\n".join(line for line in addr.splitlines() if "192.168.0.105" not in line)
    sections = {"loadb1": [addr, golden("ipvsadm-ch5-active.txt").rstrip(), "master sync daemon (mcast=eth0, syncid=0)",
                           *daemons],
                "loadb2": [standby_addr, golden("ipvsadm-ch5-standby.txt").rstrip(), "", *daemons]}
    web = [golden("ip-addr-lo-realserver.txt").rstrip(), "running"]
    for spec in cluster.nodes:
        answer = f"\n{MARK}\n".join(sections.get(spec.name, web)) + "\n"
        node = ScriptedNode(spec.name, [(0, answer)])
        node.spec = spec
        lab.nodes[spec.name] = node
    return lab


def test_status_names_keepalived_and_its_processes(golden):
    status = lab_status(_lab(golden, "keepalived", ["running", "running", "stopped"]), ["ch5"])
    loadb1 = next(n for n in status["nodes"] if n["name"] == "loadb1")
    assert status["stack"] == "keepalived" and status["active"] == "loadb1"
    assert loadb1["daemons"] == {"keepalived": "running", "vrrp": "running", "checker": "stopped", "sync": ["master"]}
    assert "(fake, keepalived)" in render(status)


def test_status_names_heartbeat_and_ldirectord(golden):
    status = lab_status(_lab(golden, "heartbeat", ["running", "stopped"]), [])
    loadb1 = next(n for n in status["nodes"] if n["name"] == "loadb1")
    assert loadb1["daemons"] == {"heartbeat": "running", "ldirectord": "stopped", "sync": ["master"]}


def test_a_daemon_runs_only_when_its_pid_file_names_a_live_process_of_that_name(tmp_path):
    """lvslab status reads pid files (one fork), as ldirectord's own status does, not the
    daemons' status tools (seconds under emulation): a stale or foreign pid is `stopped`."""
    import subprocess

    from lab.stacks.base import daemon_state

    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        def state(pid: str | None, name: str = "sleep") -> str:
            pidfile = tmp_path / "d.pid"
            pidfile.unlink(missing_ok=True)
            if pid is not None:
                pidfile.write_text(pid + "\n")
            return subprocess.run(["sh", "-c", daemon_state(str(pidfile), name)],
                                  capture_output=True, text=True).stdout.strip()

        assert state(str(sleeper.pid)) == "running"
        assert state(str(sleeper.pid), name="heartbeat") == "stopped"  # a reused pid: another program
        assert state(None) == "stopped" and state("") == "stopped"
        sleeper.kill()
        sleeper.wait()
        assert state(str(sleeper.pid)) == "stopped"
    finally:
        sleeper.kill()


def test_the_pid_files_read_are_the_ones_the_daemons_write():
    """ldirectord started as `ldirectord ldirectord.cf start` names its pid file after the config
    file's name (/run/ldirectord.ldirectord.cf.pid), the file provisioning's reload reads too."""
    from pathlib import Path

    from lab.stacks.heartbeat import Heartbeat

    provision = (Path(__file__).parents[1] / "lab/provision/ldirectord.sh").read_text()
    assert "/run/ldirectord.ldirectord.cf.pid" in Heartbeat.daemons["ldirectord"]
    assert "/run/ldirectord.ldirectord.cf.pid" in provision
    assert "/run/heartbeat.pid" in Heartbeat.daemons["heartbeat"]
