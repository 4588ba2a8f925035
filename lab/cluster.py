"""The cluster the tutorial builds, as data.

Everything that names a node, an address, the VIP or the service reads it from here
(loaded from cluster.json, which the Vagrantfile reads too), so providers, provisioning
and scenarios cannot disagree about the topology.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from pathlib import Path

from lab.cluster_check import problems
from lab.errors import LabError

DEFAULT_CLUSTER_FILE = Path(__file__).with_name("cluster.json")


@dataclass(frozen=True)
class NodeSpec:
    name: str
    role: str  # "balancer" | "realserver" | "client"
    address: str
    preferred: bool = False  # the node named first in haresources
    aliases: tuple[str, ...] = ()  # more addresses on eth0 (the client's: several distinct clients)


@dataclass(frozen=True)
class ServiceSpec:
    port: int
    protocol: str
    scheduler: str
    forwarding: str
    request: str
    receive: str
    fallback: str
    persistent: int | None
    checktimeout: int
    checkinterval: int


@dataclass(frozen=True)
class StackSpec:
    name: str
    authkey: str
    mcast_group: str
    udpport: int
    auto_failback: bool
    timing: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class KeepalivedSpec:
    """The same pair on keepalived (--lab-stack=keepalived): one VRRP instance for the VIP."""
    virtual_router_id: int = 51
    priority: int = 150       # the preferred balancer's (loadb1, whom haresources names)
    peer_priority: int = 100
    nopreempt: bool = True    # heartbeat's auto_failback off
    timing: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PacemakerSpec:
    """The same pair on Pacemaker + Corosync (--lab-stack=pacemaker)."""
    preferred_score: int = 100       # the location preference for the preferred balancer (loadb1)
    resource_stickiness: int = 200   # above it: heartbeat's auto_failback off


STACK_NAMES = ("heartbeat", "keepalived", "pacemaker")  # --lab-stack; heartbeat is the tutorial's


@dataclass(frozen=True)
class Cluster:
    name: str
    domain: str
    network: str
    broadcast: str
    interface: str
    vip: str
    service: ServiceSpec
    stack: StackSpec
    nodes: tuple[NodeSpec, ...]
    keepalived: KeepalivedSpec = KeepalivedSpec()
    pacemaker: PacemakerSpec = PacemakerSpec()
    stack_name: str = "heartbeat"  # which stack runs the pair: STACK_NAMES (lab/stacks/)

    @property
    def prefixlen(self) -> int:
        return ipaddress.ip_network(self.network).prefixlen

    def node(self, name: str) -> NodeSpec:
        for spec in self.nodes:
            if spec.name == name:
                return spec
        raise KeyError(f"no node {name!r} in cluster {self.name!r}: {[n.name for n in self.nodes]}")

    def by_role(self, role: str) -> list[NodeSpec]:
        return [n for n in self.nodes if n.role == role]

    @property
    def balancers(self) -> list[NodeSpec]:
        return self.by_role("balancer")

    @property
    def realservers(self) -> list[NodeSpec]:
        return self.by_role("realserver")

    @property
    def preferred_balancer(self) -> NodeSpec:
        return next((n for n in self.balancers if n.preferred), self.balancers[0])

    def real_server(self, name: str) -> str:
        """address:port of a web node's service, as ipvsadm names it."""
        return f"{self.node(name).address}:{self.service.port}"

    def hosts_lines(self) -> list[str]:
        """/etc/hosts lines naming every node (address, FQDN, short name), as each provider writes them."""
        return [f"{n.address}\t{n.name}.{self.domain}\t{n.name}" for n in self.nodes]

    def provision_env(self) -> dict[str, str]:
        """The topology as the environment the provisioning scripts read (LAB_*)."""
        svc, stack = self.service, self.stack
        env = {
            "LAB_VIP": self.vip,
            "LAB_PREFIXLEN": str(self.prefixlen),
            "LAB_BROADCAST": self.broadcast,
            "LAB_IFACE": self.interface,
            "LAB_PORT": str(svc.port),
            "LAB_PROTOCOL": svc.protocol,
            "LAB_SCHEDULER": svc.scheduler,
            "LAB_FORWARDING": svc.forwarding,
            "LAB_REQUEST": svc.request,
            "LAB_RECEIVE": svc.receive,
            "LAB_FALLBACK": svc.fallback,
            "LAB_PERSISTENT": "" if svc.persistent is None else str(svc.persistent),
            "LAB_CHECKTIMEOUT": str(svc.checktimeout),
            "LAB_CHECKINTERVAL": str(svc.checkinterval),
            "LAB_BALANCERS": " ".join(n.name for n in self.balancers),
            "LAB_PREFERRED": self.preferred_balancer.name,
            "LAB_REALSERVERS": " ".join(n.address for n in self.realservers),
            "LAB_CLIENTS": " ".join(a for n in self.by_role("client") for a in (n.address, *n.aliases)),
            "LAB_AUTHKEY": stack.authkey,
            "LAB_MCAST_GROUP": stack.mcast_group,
            "LAB_UDPPORT": str(stack.udpport),
            "LAB_AUTO_FAILBACK": "on" if stack.auto_failback else "off",
            "LAB_STACK": self.stack_name,
            "LAB_KA_VRID": str(self.keepalived.virtual_router_id),
            "LAB_KA_PRIORITY": str(self.keepalived.priority),
            "LAB_KA_PEER_PRIORITY": str(self.keepalived.peer_priority),
            "LAB_KA_NOPREEMPT": "yes" if self.keepalived.nopreempt else "",
            "LAB_PM_PREFERRED_SCORE": str(self.pacemaker.preferred_score),
            "LAB_PM_STICKINESS": str(self.pacemaker.resource_stickiness),
        }
        for key, value in stack.timing.items():
            env[f"LAB_HB_{key.upper()}"] = str(value)
        for key, value in self.keepalived.timing.items():
            env[f"LAB_KA_{key.upper()}"] = str(value)
        return env


def load_cluster(path: Path | None = None, *, stack: str = "heartbeat") -> Cluster:
    """The cluster of `path` (default lab/cluster.json), checked field by field first.

    A broken file raises LabError naming each field path and its fix (lab/cluster_check.py),
    never a KeyError or TypeError from deep inside the constructors below. The default is
    looked up at call time, so a test can point every caller at another file. `stack` picks
    the software that runs the balancer pair (STACK_NAMES; --lab-stack).
    """
    if stack not in STACK_NAMES:
        raise LabError(f"unknown stack {stack!r}", f"use one of {', '.join(STACK_NAMES)} (--lab-stack)")
    path = Path(path or DEFAULT_CLUSTER_FILE)
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise LabError(f"cannot read the cluster file {path}: {error.strerror}",
                       "restore it with `git checkout lab/cluster.json`") from None
    except json.JSONDecodeError as error:
        raise LabError(f"{path} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}",
                       "correct the JSON there (a missing comma or quote, a trailing comma)") from None
    found = problems(data)
    if found:
        raise LabError(f"{path} does not describe a cluster the lab can build:\n  " + "\n  ".join(found),
                       f"correct the fields named above in {path} (`git diff` shows what changed)")
    lan = data["lan"]
    return Cluster(
        name=data["name"],
        domain=data["domain"],
        network=lan["network"],
        broadcast=lan["broadcast"],
        interface=lan["interface"],
        vip=data["vip"],
        service=ServiceSpec(**data["service"]),
        stack=StackSpec(**data["stack"]),
        nodes=tuple(NodeSpec(**{**n, "aliases": tuple(n.get("aliases", ()))}) for n in data["nodes"]),
        keepalived=KeepalivedSpec(**data.get("keepalived", {})),
        pacemaker=PacemakerSpec(**data.get("pacemaker", {})),
        stack_name=stack,
    )


def web_names(path: Path | None = None) -> frozenset[str]:
    """The real servers' names (each answers with a page naming it), for scenarios to compare
    against at import; read leniently like node_names (a `--lab` run reports a broken file)."""
    try:
        return frozenset(spec.name for spec in load_cluster(path).realservers)
    except LabError:
        return frozenset()


def node_names(path: Path | None = None) -> list[str]:
    """The nodes' names, read leniently: whatever else is wrong, never raises.

    The pytest plugin makes a fixture per node at import; a broken cluster.json must not
    break the collection of the unit tests (a `--lab` run reports it, through load_cluster).
    """
    try:
        return [spec.name for spec in load_cluster(path).nodes]
    except LabError:
        pass
    try:
        nodes = json.loads(Path(path or DEFAULT_CLUSTER_FILE).read_text())["nodes"]
        return [n["name"] for n in nodes if isinstance(n.get("name"), str) and n["name"].isidentifier()]
    except Exception:  # noqa: BLE001 - any shape at all: no node fixtures, nothing else breaks
        return []


if __name__ == "__main__":
    # The Vagrantfile's source of LAB_* values (stdlib only: runs with the system python3):
    #   python3 -m lab.cluster [INTERFACE]
    import dataclasses
    import sys

    try:
        cluster = load_cluster()
    except LabError as error:  # the Vagrantfile shows stderr; no traceback to dig through
        sys.exit(f"lvslab: {error}")
    if len(sys.argv) > 1:
        cluster = dataclasses.replace(cluster, interface=sys.argv[1])
    print(json.dumps(cluster.provision_env()))
