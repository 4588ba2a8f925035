"""The tutorial's stack: heartbeat (haresources: ldirectord, LVSSyncDaemonSwap, IPaddr2)."""

from __future__ import annotations

from lab.checks.daemons import parse_ldirectord_status, parse_sync_status
from lab.checks.heartbeat import parse_heartbeat_view
from lab.cluster import NodeSpec
from lab.stacks.base import ACTIVE, DOWN, STANDBY, UNSETTLED, Stack, StackView, daemon_state


class Heartbeat(Stack):
    name = "heartbeat"
    title = "heartbeat + ldirectord (the tutorial's)"
    balancer_scripts = ("ch1-ipvs.sh", "ch2-packages.sh", "ch3-forwarding.sh", "ch4-heartbeat.sh")
    service_script = "ch4-heartbeat.sh"
    init_script = "/etc/init.d/heartbeat"
    service_on_standby = False
    backup_sync_on_standby = False
    checker_command = "ldirectord ldirectord.cf status"
    sync_command = "/etc/ha.d/resource.d/LVSSyncDaemonSwap master status"
    daemons = {"heartbeat": daemon_state("/run/heartbeat.pid", "heartbeat"),
               "ldirectord": daemon_state("/run/ldirectord.ldirectord.cf.pid", "ldirectord")}
    logs = ("/var/log/ha-log",)
    # Heartbeat's own words for a split brain and for its end (as Pacemaker's CTS watches for them).
    bad_news = (r"Both machines own .* resources", r"returning after partition")
    quiesced_news = (r"ldirectord.*: Quiescent ",)  # ldirectord's _remove_service with quiescent=yes
    evidence_commands = ("cl_status hbstatus; cl_status rscstatus", "ldirectord ldirectord.cf status",
                         "/etc/ha.d/resource.d/LVSSyncDaemonSwap master status", "tail -n 200 /var/log/ha-log")

    def status_command(self, peer: NodeSpec) -> str:
        # rscstatus also when nodestatus says dead (exit 1): a node that took over from a stopped
        # peer says "all" (lab/failover.py waits for it)
        return f"cl_status hbstatus && {{ cl_status nodestatus {peer.name}; cl_status rscstatus; }}"

    def view(self, node: NodeSpec, peer: NodeSpec, output: str) -> StackView:
        """rscstatus names what a node holds: "local" is the share haresources gives it, which is
        nothing for a node haresources does not name (loadb2 after its start), and everything for
        the node it names; "all" is everything, "none" nothing (loadb1 after it rejoined)."""
        try:
            hb = parse_heartbeat_view(output)
        except ValueError:  # cl_status said nothing we know (a heartbeat that did not answer in time): not settled
            return StackView(False, UNSETTLED, False, output.strip() or "(cl_status printed nothing)")
        named = node.preferred
        role = {"all": ACTIVE, "foreign": ACTIVE, "none": STANDBY, "transition": UNSETTLED,
                "local": ACTIVE if named else STANDBY}.get(hb.resources or "", DOWN if not hb.running else UNSETTLED)
        return StackView(hb.running, role, hb.peer == "active", output.strip())

    def documented_standby(self, standby: NodeSpec, active: NodeSpec) -> str:
        return f"Heartbeat is running on this machine.\nactive\n{'none' if standby.preferred else 'local'}"

    def checker_running(self, output: str) -> bool:
        status = parse_ldirectord_status(output)
        if status.config != "/etc/ha.d/ldirectord.cf":
            raise AssertionError(f"ldirectord's status names {status.config}, not /etc/ha.d/ldirectord.cf")
        return status.running

    def sync_master_running(self, output: str) -> bool:
        status = parse_sync_status(output)
        return status.role == "master" and status.running
