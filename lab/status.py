"""The lab at a glance (`lvslab status`): roles, VIP holder, daemons, the active IPVS table, sync roles.

One command per node (sections split by a marker) keeps it fast under emulation.
"""

from __future__ import annotations

from dataclasses import asdict

from lab.checks.ipaddr import parse_interface
from lab.checks.ipvsadm import parse_daemons, parse_table
from lab.node import Node
from lab.providers.base import Lab
from lab.stacks import stack_of
from lab.stacks.base import daemon_state

MARK = "--lvslab--"
# A balancer's: its LAN addresses, then its stack's daemons (lab/stacks/: each prints running or
# stopped), then the IPVS table and the sync daemons.
BALANCER_PROBE = ["ip addr show {iface}", "ipvsadm -L -n", "ipvsadm -L --daemon"]
REALSERVER_PROBE = [
    "ip addr show lo",
    daemon_state("/run/apache2/apache2.pid", "apache2"),
]


def _sections(node: Node, probe: list[str], iface: str) -> list[str]:
    script = f"; echo {MARK}; ".join(command.replace("{iface}", iface) for command in probe)
    return node.run(script, timeout=60).stdout.split(f"{MARK}\n")


def lab_status(lab: Lab, stages: list[str]) -> dict:
    cluster = lab.cluster
    status: dict = {"lab": lab.name, "provider": lab.provider_name, "stack": cluster.stack_name,
                    "stages": list(stages), "vip": cluster.vip,
                    "active": None, "nodes": [], "ipvs": None}
    for spec in cluster.nodes:
        node = lab.node(spec.name)
        entry: dict = {"name": spec.name, "role": spec.role, "address": spec.address, "daemons": {}}
        if spec.role == "balancer":
            stack = stack_of(cluster).daemons
            addr, table, daemons, *states = _sections(node, [*BALANCER_PROBE, *stack.values()], cluster.interface)
            holds = cluster.vip in parse_interface(addr).addresses
            entry["holds_vip"] = holds
            entry["daemons"] = {**{name: state.strip() for name, state in zip(stack, states)},
                                "sync": [d.role for d in parse_daemons(daemons)] or ["none"]}
            if holds:
                status["active"] = spec.name
                status["ipvs"] = {"node": spec.name, "services": [asdict(s) for s in parse_table(table).services]}
        elif spec.role == "realserver":
            lo, apache = _sections(node, REALSERVER_PROBE, cluster.interface)
            entry["daemons"] = {"apache2": apache.strip()}
            entry["vip_on_lo"] = cluster.vip in parse_interface(lo).addresses
        status["nodes"].append(entry)
    return status


def render(status: dict) -> str:
    """The human table of `lvslab status`."""
    lines = [f"lab {status['lab']} ({status['provider']}, {status.get('stack', 'heartbeat')}), "
             f"stages done: {', '.join(status['stages']) or 'none'}",
             f"virtual IP {status['vip']} held by: {status['active'] or 'nobody'}", "",
             f"{'node':12} {'role':11} {'address':15} state"]
    for node in status["nodes"]:
        daemons = " ".join(f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in node["daemons"].items())
        extra = " VIP" if node.get("holds_vip") else (" VIP-on-lo:0" if node.get("vip_on_lo") else "")
        lines.append(f"{node['name']:12} {node['role']:11} {node['address']:15} {daemons}{extra}")
    if status["ipvs"]:
        lines += ["", f"IPVS table on {status['ipvs']['node']}:"]
        for service in status["ipvs"]["services"]:
            lines.append(f"  {service['protocol']} {service['address']} {service['scheduler']} {' '.join(service['flags'])}")
            for real in service["reals"]:
                lines.append(f"    -> {real['address']:21} {real['forward']:6} weight {real['weight']}  "
                             f"active {real['active']}  inactive {real['inactive']}")
    return "\n".join(lines)
