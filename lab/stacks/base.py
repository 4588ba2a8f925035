"""What every stack tells the scenarios: its scripts, its daemon, its own view of the pair."""

from __future__ import annotations

from dataclasses import dataclass

from lab.cluster import NodeSpec
from lab.node import Node

ACTIVE, STANDBY, DOWN, UNSETTLED = "active", "standby", "down", "unsettled"


def pid_alive(pidfile: str, name: str, var: str = "pid") -> str:
    """A shell test: the pid file names a live process whose command line names `name` (what
    ldirectord's own `status` checks), the pid left in $var. One fork (grep), where a daemon's
    status tool (Perl, an init script) costs seconds under emulation."""
    return f'read {var} < {pidfile} 2>/dev/null && grep -qs {name} /proc/"${var}"/cmdline'


def daemon_state(pidfile: str, name: str) -> str:
    """A shell command printing `running` or `stopped` (lvslab status)."""
    return f"{pid_alive(pidfile, name)} && echo running || echo stopped"


@dataclass(frozen=True)
class StackView:
    """One balancer's own view, read from the stack's status tool."""
    running: bool      # the stack's daemon runs and answers
    role: str          # ACTIVE, STANDBY, DOWN or UNSETTLED (an election or a takeover under way)
    peer_seen: bool    # it sees the other balancer alive (heartbeat); for VRRP: it hears adverts
    said: str          # what the tool printed, for the report


class Stack:
    name: str = ""
    title: str = ""
    # Provisioning (lab/provision/): chapters 1-4 on the balancers; the script that rewrites the
    # virtual service with other LAB_* settings (persistent=, scheduler=, ...) and reloads it.
    balancer_scripts: tuple[str, ...] = ()
    service_script: str = ""
    init_script: str = ""  # the daemon's init script: start, stop (the tutorial's failover)
    # Where the stack behaves otherwise than the tutorial's heartbeat + ldirectord:
    service_on_standby: bool = False    # the standby has the virtual service (and health checks) too
    backup_sync_on_standby: bool = False  # a standby that has never been active runs the backup sync daemon
    checker_command: str = ""  # run on a balancer: whether its health checker runs
    sync_command: str = ""  # run on a balancer: whether the sync master runs
    evidence_commands: tuple[str, ...] = ()  # saved from each balancer when a test fails
    daemons: dict[str, str] = {}  # `lvslab status`: name -> a command that prints running or stopped
    # lab/monitor.py: the stack's own log files (besides syslog) and its lines that mean trouble
    logs: tuple[str, ...] = ()
    bad_news: tuple[str, ...] = ()
    # its syslog lines that say the health checker took a real server out of service
    quiesced_news: tuple[str, ...] = ()

    def status_command(self, peer: NodeSpec) -> str:
        """Run on a balancer: its own view of itself and of the other balancer `peer` (StackView)."""
        raise NotImplementedError

    def view(self, node: NodeSpec, peer: NodeSpec, output: str) -> StackView:
        raise NotImplementedError

    def documented_standby(self, standby: NodeSpec, active: NodeSpec) -> str:
        """What status_command prints on a live standby that sees `active` active."""
        raise NotImplementedError

    def read(self, node: Node, peer: NodeSpec) -> StackView:
        result = node.run(self.status_command(peer))
        return self.view(node.spec, peer, result.stdout + result.stderr)

    def start(self, node: Node) -> None:
        node.succeed(f"{self.init_script} start", timeout=300)

    def stop(self, node: Node) -> None:
        node.succeed(f"{self.init_script} stop", timeout=300)

    def checker_running(self, output: str) -> bool:
        raise NotImplementedError

    def sync_master_running(self, output: str) -> bool:
        raise NotImplementedError
