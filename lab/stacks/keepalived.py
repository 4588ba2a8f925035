"""Today's single-daemon stack: keepalived (VRRP for the VIP, health checks and IPVS in one)."""

from __future__ import annotations

from lab.checks.ipvsadm import parse_daemons
from lab.checks.keepalived import NOT_RUNNING, parse_vrrp_data
from lab.cluster import NodeSpec
from lab.stacks.base import ACTIVE, DOWN, STANDBY, UNSETTLED, Stack, StackView, daemon_state, pid_alive

# keepalived's data dump, asked for with SIGUSR1 (what `keepalived --signum=DATA` names); the
# VRRP child writes it a moment later, so the command waits for the state line. Only its VRRP
# section is shown (the whole dump is some 170 lines of settings).
DATA = "/tmp/keepalived.data"
STATUS = (f'{pid_alive("/run/keepalived.pid", "keepalived")} '
          f'|| {{ echo "{NOT_RUNNING}"; exit 1; }}; rm -f {DATA}; kill -USR1 "$pid"; '
          f'for i in $(seq 50); do grep -q "State = " {DATA} 2>/dev/null && break; sleep 0.1; done; '
          f'sleep 0.2; sed -n "/< VRRP Topology >/,/< Interfaces >/p" {DATA} | grep -v "< Interfaces >"')


class Keepalived(Stack):
    name = "keepalived"
    title = "keepalived (VRRP, checks and IPVS in one daemon)"
    balancer_scripts = ("ch1-ipvs.sh", "ch2-packages.sh", "ch3-forwarding.sh", "ch4-keepalived.sh")
    service_script = "ch4-keepalived.sh"
    init_script = "/etc/init.d/keepalived"
    # keepalived configures the virtual service and checks the real servers on both balancers.
    service_on_standby = True
    # lvs_sync_daemon: keepalived runs the backup daemon while the instance is BACKUP.
    backup_sync_on_standby = True
    # keepalived's checker is a child process of its own, named by its pid file.
    checker_command = (f'{pid_alive("/run/checkers.pid", "keepalived")} '
                       '&& echo "keepalived checker (pid $pid) is running" || echo "keepalived checker is stopped"')
    sync_command = "ipvsadm -L --daemon"
    quiesced_news = (r"Keepalived_healthcheckers?.*: (Disabling|Removing) service",)
    daemons = {name: daemon_state(f"/run/{pidfile}.pid", "keepalived")
               for name, pidfile in (("keepalived", "keepalived"), ("vrrp", "vrrp"), ("checker", "checkers"))}
    evidence_commands = (STATUS, "cat /etc/keepalived/keepalived.conf")

    def status_command(self, peer: NodeSpec) -> str:
        return STATUS

    def view(self, node: NodeSpec, peer: NodeSpec, output: str) -> StackView:
        vrrp = parse_vrrp_data(output)
        role = {"MASTER": ACTIVE, "BACKUP": STANDBY}.get(vrrp.state or "", UNSETTLED) if vrrp.running else DOWN
        # A backup hears the master's adverts; a master hears nothing from a backup (VRRP backups
        # are silent), so there the answer is only "not contradicted".
        peer_seen = vrrp.master_router == peer.address if role == STANDBY else vrrp.running
        return StackView(vrrp.running, role, peer_seen, output.strip())

    def documented_standby(self, standby: NodeSpec, active: NodeSpec) -> str:
        return f" VRRP Instance = VI_LVS\n   State = BACKUP\n   Master router = {active.address}"

    def checker_running(self, output: str) -> bool:
        return "is running" in output

    def sync_master_running(self, output: str) -> bool:
        return any(d.role == "master" for d in parse_daemons(output))
