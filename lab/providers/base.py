"""The provider contract: how a lab of nodes comes to exist and goes away.

A provider turns the cluster model into running Debian nodes (namespaces, VMs, ...)
and hands back a `Lab`. Everything above it (provisioning, checks, scenarios) only
uses `Lab` and `Node` verbs, so a new provider is one small module.
"""

from __future__ import annotations

import shlex
import socket
from pathlib import Path
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Iterator

from lab.cluster import Cluster, NodeSpec
from lab.errors import LabError
from lab.node import Node


# What a command on a crashed (powered-off) node says, on every provider that can crash one.
POWERED_OFF = "is crashed (powered off)"


@dataclass(frozen=True)
class HttpReply:
    """What the client saw when it asked the VIP for a page."""

    ok: bool
    status: int | None
    body: str
    error: str
    seconds: float
    cookies: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        if self.ok:
            return f"HTTP {self.status} in {self.seconds:.2f} s: {self.body.strip()[:200]!r}"
        return f"no answer after {self.seconds:.2f} s: {self.error}"


class Lab(ABC):
    """A running lab: the cluster's nodes, reachable by name."""

    provider_name: str = "?"

    def __init__(self, cluster: Cluster, name: str) -> None:
        self.cluster = cluster
        self.name = name
        self.nodes: dict[str, Node] = {}

    def node(self, name: str) -> Node:
        try:
            return self.nodes[name]
        except KeyError:
            raise KeyError(f"no node {name!r} in lab {self.name}: {sorted(self.nodes)}") from None

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes.values())

    @abstractmethod
    def start(self) -> None:
        """Bring every node of the cluster up, networked, with a fresh root filesystem."""

    @abstractmethod
    def destroy(self) -> None:
        """Remove everything start() made. Must be safe to call after a partial start."""

    @abstractmethod
    def http_get(self, url: str, *, timeout: float = 5.0, source: str | None = None,
                 cookies: dict[str, str] | None = None) -> HttpReply:
        """One HTTP GET issued from the client node (a new connection each time), optionally
        from one of its alias addresses and with cookies (a browser's session)."""

    def client_socket(self, address: str, port: int, *, source: str | None = None, timeout: float = 10.0,
                      receive_buffer: int | None = None) -> "socket.socket":
        """A TCP connection opened from the client node, for traffic HTTP helpers cannot make
        (a slow download held open across a failover). Providers that cannot hand one out say so."""
        raise NotImplementedError(f"the {self.provider_name} provider cannot hand out client sockets")

    def lan_addresses(self, node: str, *, timeout: float = 3.0) -> list[str] | None:
        """The IPv4 addresses on the node's LAN interface now, None if it could not be read within
        `timeout` (a node's kernel state: read even when its processes are frozen). Providers may
        read it without starting a process in the node (the fault recorder samples it twice a
        second, so its readings give up quickly; a single reading waits longer)."""
        from lab.checks.ipaddr import parse_interface

        try:
            result = self.node(node).run(["ip", "addr", "show", self.cluster.interface], timeout=timeout)
        except LabError:
            return None
        if POWERED_OFF in result.stderr:  # a crashed node (also through the agent) lists nothing
            return []
        return parse_interface(result.stdout).addresses if result.ok else None

    # --- logs (lab/monitor.py reads them around every scenario) ---------------------------
    def log_sizes(self, node: str, paths: tuple[str, ...]) -> list[int] | None:
        """Each file's size in bytes now (0 if absent); None if the node could not be asked."""
        script = "; ".join(f"wc -c < {shlex.quote(p)} 2>/dev/null || echo 0" for p in paths)
        result = self.node(node).run(script, timeout=60)
        values = result.stdout.split()
        return [int(v) for v in values] if result.ok and len(values) == len(paths) else None

    def logs_since(self, node: str, paths: tuple[str, ...], sizes: list[int]) -> str:
        """What the files gained since they had `sizes`."""
        script = "; ".join(f"tail -c +{size + 1} {shlex.quote(p)} 2>/dev/null" for p, size in zip(paths, sizes))
        return self.node(node).run(script + "; true", timeout=60).stdout

    def kernel_mark(self) -> dict[str, int]:
        """Where each balancer's kernel log is now (lines of dmesg)."""
        marks = {}
        for spec in self.cluster.balancers:
            result = self.node(spec.name).run("dmesg 2>/dev/null | wc -l", timeout=60)
            marks[spec.name] = int(result.stdout.strip() or 0) if result.ok else 0
        return marks

    def kernel_since(self, mark: dict[str, int]) -> dict[str, str]:
        """Each balancer's kernel log lines since `mark`."""
        return {name: self.node(name).run(f"dmesg 2>/dev/null | tail -n +{line + 1}", timeout=60).stdout
                for name, line in mark.items()}

    # --- faults (lab/faults.py): what only the provider can do to a whole node -----------
    def _not_here(self, what: str, family: str | None) -> LabError:
        """What a provider that cannot do a fault verb says (the netns provider does them all)."""
        return LabError(f"{what}: not yet on the {self.provider_name} provider",
                        f"run {family} scenarios with --lab=netns" if family else "")

    def freeze(self, node: str) -> int:
        """Make the node a hung host as it looks from outside (nothing it runs goes on, nothing
        on the LAN reaches it or hears from it, its link stays up); how many processes it had."""
        raise self._not_here("freezing a node", "fault")

    def thaw(self, node: str) -> None:
        """Let a frozen node's processes run again."""
        raise self._not_here("thawing a node", "fault")

    def set_link(self, node: str, *, up: bool) -> None:
        """Plug (up) or pull (down) the node's LAN cable, at the switch's side."""
        raise self._not_here("cutting a node's link", "fault")

    def crash(self, node: str) -> None:
        """Cut the node's power: off the LAN at once, nothing runs, nothing is said, RAM state lost."""
        raise self._not_here("crashing a node", "fault")

    def boot(self, node: str) -> None:
        """Power a crashed node on; its own boot scripts decide what starts."""
        raise self._not_here("booting a crashed node", "fault")

    def add_node(self, spec: NodeSpec) -> Node:
        """Start a node that is not in the cluster (a rogue on the LAN) and cable it to the LAN."""
        raise self._not_here("extra nodes", "security")

    def remove_node(self, name: str) -> None:
        """Take away a node add_node made."""
        raise self._not_here("extra nodes", None)

    def isolate(self, nodes: list[str], *, on: bool) -> None:
        """Cut (on) or mend the links between these nodes only; each still reaches every other node."""
        raise self._not_here("partitions", "fault")

    def shape_lan(self, netem: list[str] | None, nodes: list[str] | None = None) -> None:
        """Make the whole LAN lossy/slow with netem arguments (["loss", "30%"]); None: a clean LAN.
        With `nodes`, only what the LAN delivers to those nodes (their ports' way out)."""
        raise self._not_here("a lossy LAN", "fault")

    def faults_in_place(self) -> list[str]:
        """What the provider still sees broken, one line each (a frozen or crashed node, a port down
        or isolated, netem on the LAN, a node that is not the cluster's): [] when none."""
        raise self._not_here("reading the faults in place", "fault")

    def save_evidence(self, folder: Path) -> None:
        """Save what only the provider can see (a VM's serial console, ...) into folder."""

    def describe(self) -> str:
        return f"{self.provider_name} lab {self.name}"


class Provider(ABC):
    """Knows whether it can run here, and makes labs."""

    name: str = "?"

    @abstractmethod
    def check_host(self) -> None:
        """Raise LabError (with the fix) if this machine cannot run this provider."""

    @abstractmethod
    def create(self, cluster: Cluster, *, lab_name: str) -> Lab:
        """A Lab object for the cluster, not yet started."""


def port_faults(name: str, links: list[dict], qdiscs: list[dict]) -> list[str]:
    """What `ip -j -d link show` and `tc -j qdisc show` of a node's switch port (a veth end, a
    VM's tap) say is still broken: the port down, bridge port isolation on, the port disabled
    (a frozen node's silence), netem."""
    left = []
    for link in links:
        if "UP" not in link.get("flags", []):
            left.append(f"{name}'s switch port is down")
        port = link.get("linkinfo", {}).get("info_slave_data", {})
        if port.get("isolated"):
            left.append(f"{name}'s switch port is isolated")
        if port.get("state") == "disabled":
            left.append(f"{name}'s switch port is disabled (forwards nothing: a frozen node's silence)")
    left += [f"netem on {name}'s switch port: {q.get('options', {})}" for q in qdiscs if q.get("kind") == "netem"]
    return left
