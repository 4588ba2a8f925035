"""Today's cluster stack: Corosync (membership, quorum) and Pacemaker (resources), running the
tutorial's own resources: ldirectord, the sync master (LVSSyncDaemonSwap), the VIP (IPaddr2)."""

from __future__ import annotations

from lab.checks.pacemaker import parse_crm_mon
from lab.cluster import NodeSpec
from lab.node import Node
from lab.stacks.base import ACTIVE, DOWN, STANDBY, UNSETTLED, StackView
from lab.stacks.heartbeat import Heartbeat

STATUS = "crm_mon -1 --output-as=xml"


class Pacemaker(Heartbeat):
    """Heartbeat's resources (so ldirectord and the sync swap read as with heartbeat), run by
    Pacemaker: ldirectord only on the active, an empty table on the standby."""
    name = "pacemaker"
    title = "Pacemaker + Corosync (ldirectord, the sync master and IPaddr2 as one resource group)"
    balancer_scripts = ("ch1-ipvs.sh", "ch2-packages.sh", "ch3-forwarding.sh", "ch4-pacemaker.sh")
    service_script = "ch4-pacemaker.sh"
    init_script = "/etc/init.d/pacemaker"
    daemons = {"corosync": "/etc/init.d/corosync status >/dev/null 2>&1 && echo running || echo stopped",
               "pacemaker": "pidof pacemakerd >/dev/null && echo running || echo stopped",
               "ldirectord": Heartbeat.daemons["ldirectord"]}
    logs = ()  # syslog only (no ha-log)
    bad_news = (r"is active on 2 nodes",)  # the scheduler's word for a resource running twice
    evidence_commands = ("crm_mon -1", "ldirectord ldirectord.cf status",
                         "/etc/ha.d/resource.d/LVSSyncDaemonSwap master status",
                         "tail -n 100 /var/log/corosync/corosync.log", "tail -n 200 /var/log/pacemaker/pacemaker.log")

    def start(self, node: Node) -> None:
        node.succeed("/etc/init.d/corosync start && /etc/init.d/pacemaker start", timeout=300)

    def stop(self, node: Node) -> None:
        """As an admin stops a node: Pacemaker moves the group away, then Corosync leaves."""
        node.succeed("/etc/init.d/pacemaker stop && /etc/init.d/corosync stop", timeout=300)

    def status_command(self, peer: NodeSpec) -> str:
        return STATUS

    def view(self, node: NodeSpec, peer: NodeSpec, output: str) -> StackView:
        cluster = parse_crm_mon(output)
        running = cluster.answered and cluster.online.get(node.name, False)
        if not running:
            return StackView(False, DOWN, False, output.strip())
        if cluster.runs_all(node.name):
            role = ACTIVE
        elif cluster.runs_none(node.name) and cluster.runs_all(peer.name):
            role = STANDBY
        else:
            role = UNSETTLED
        return StackView(True, role, cluster.online.get(peer.name, False), output.strip())

    def documented_standby(self, standby: NodeSpec, active: NodeSpec) -> str:
        return (f'<node name="{active.name}" online="true" .../>\n<node name="{standby.name}" online="true" .../>\n'
                f'<group id="lvs">: ldirectord, sync-master, vip Started on {active.name}')
