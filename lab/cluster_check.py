"""Typed checks of cluster.json, made when it is loaded and before anything is built from it.

A slip in cluster.json (an address outside the LAN, a third balancer, a scheduler the kernel
does not have, a port written as a string) would otherwise surface minutes later as a failed
provisioning script inside a node, or as a bare KeyError at import. Every problem names its
field path (`nodes[2].address`) and its fix, and all of them are reported at once.
Stdlib only: the Vagrantfile runs `python3 -m lab.cluster` with the system python.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

SCHEDULERS = ("rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq")  # chapter 1's ip_vs_* modules
FORWARDING = ("gate", "masq", "ipip")  # ldirectord's names: direct routing, NAT, tunnelling
ROLES = ("balancer", "realserver", "client")
PROTOCOLS = ("tcp", "udp")
TIMING = ("keepalive", "warntime", "deadtime", "initdead")  # ha.cf's timing keys
TOP = ("name", "description", "domain", "lan", "vip", "service", "stack", "keepalived", "pacemaker", "nodes")
SERVICE = ("port", "protocol", "scheduler", "forwarding", "request", "receive", "fallback", "persistent",
           "checktimeout", "checkinterval")
STACK = ("name", "authkey", "mcast_group", "udpport", "auto_failback", "timing")
KEEPALIVED = ("virtual_router_id", "priority", "peer_priority", "nopreempt", "timing")
KEEPALIVED_TIMING = ("advert_int",)
PACEMAKER = ("preferred_score", "resource_stickiness")
NODE = ("name", "role", "address", "preferred", "aliases")
# A node's name is its hostname and a pytest fixture name: both must accept it.
NODE_NAME = re.compile(r"[a-z][a-z0-9]{0,31}")
_KINDS = {str: "a string", int: "an integer", bool: "true or false", dict: "an object", list: "a list"}


class Checker:
    """Collects problems as `path: what (fix: how)` lines."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, path: str, what: str, fix: str) -> None:
        self.problems.append(f"{path}: {what} (fix: {fix})")

    def get(self, obj: dict[str, Any], path: str, key: str, kind: type, *, optional: bool = False) -> Any:
        """obj[key] if it has the JSON type `kind`, else None (and the problem is noted)."""
        where = f"{path}.{key}" if path else key
        if key not in obj or (optional and obj[key] is None):
            if not optional:
                self.add(where, "is missing", f"add \"{key}\" ({_KINDS[kind]})")
            return None
        value = obj[key]
        # JSON true is a Python int too: an integer field must not accept it.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.add(where, f"is {value!r}, not {_KINDS[kind]}", f"write it as {_KINDS[kind]}")
            return None
        return value

    def known(self, obj: dict[str, Any], path: str, keys: tuple[str, ...]) -> None:
        for key in obj:
            if key not in keys:
                self.add(f"{path}.{key}" if path else key, "is not a field of the cluster",
                         f"remove it or correct its spelling (known: {', '.join(keys)})")

    def text(self, obj: dict[str, Any], path: str, key: str) -> str | None:
        value = self.get(obj, path, key, str)
        if value is not None and not value.strip():
            self.add(f"{path}.{key}" if path else key, "is empty", "give it a value")
            return None
        return value

    def positive(self, obj: dict[str, Any], path: str, key: str, *, optional: bool = False,
                 most: int | None = None) -> int | None:
        value = self.get(obj, path, key, int, optional=optional)
        if value is not None and (value < 1 or (most is not None and value > most)):
            bound = f"1 to {most}" if most else "a positive number"
            self.add(f"{path}.{key}", f"is {value}", f"use {bound}")
            return None
        return value

    def choice(self, obj: dict[str, Any], path: str, key: str, choices: tuple[str, ...]) -> str | None:
        value = self.get(obj, path, key, str)
        if value is not None and value not in choices:
            self.add(f"{path}.{key}" if path else key, f"is {value!r}", f"use one of {', '.join(choices)}")
            return None
        return value

    def address(self, value: Any, path: str, lan: ipaddress.IPv4Network | None) -> ipaddress.IPv4Address | None:
        """An IPv4 host address inside the LAN (not its network or broadcast address)."""
        try:
            address = ipaddress.IPv4Address(value) if isinstance(value, str) else None
        except ValueError:
            address = None
        if address is None:
            self.add(path, f"{value!r} is not an IPv4 address", "write it as a dotted quad, e.g. \"192.168.0.101\"")
        elif lan is not None and (address not in lan or address in (lan.network_address, lan.broadcast_address)):
            self.add(path, f"{address} is not a host address of the LAN {lan}",
                     f"use a free address inside {lan}, or change lan.network")
            return None
        return address


def problems(data: Any) -> list[str]:
    """Every problem of a parsed cluster.json; none means the Cluster can be built from it."""
    check = Checker()
    if not isinstance(data, dict):
        check.add("(file)", f"is {type(data).__name__}, not a JSON object", "start from the shipped lab/cluster.json")
        return check.problems
    check.known(data, "", TOP)
    check.text(data, "", "name")
    check.text(data, "", "domain")
    check.get(data, "", "description", str, optional=True)
    lan = _lan(check, data)
    vip = check.address(data["vip"], "vip", lan) if "vip" in data else check.get(data, "", "vip", str)
    service = check.get(data, "", "service", dict)
    if service is not None:
        _service(check, service)
    stack = check.get(data, "", "stack", dict)
    if stack is not None:
        _stack(check, stack)
    keepalived = check.get(data, "", "keepalived", dict, optional=True)
    if keepalived is not None:
        _keepalived(check, keepalived)
    pacemaker = check.get(data, "", "pacemaker", dict, optional=True)
    if pacemaker is not None:
        _pacemaker(check, pacemaker)
    nodes = check.get(data, "", "nodes", list)
    if nodes is not None:
        _nodes(check, nodes, lan, vip)
    return check.problems


def _lan(check: Checker, data: dict[str, Any]) -> ipaddress.IPv4Network | None:
    lan = check.get(data, "", "lan", dict)
    if lan is None:
        return None
    check.known(lan, "lan", ("network", "broadcast", "interface"))
    network = check.get(lan, "lan", "network", str)
    try:
        net = ipaddress.IPv4Network(network) if network is not None else None
    except ValueError as error:
        check.add("lan.network", f"{network!r} is not an IPv4 network ({error})", "write it as \"192.168.0.0/24\"")
        net = None
    broadcast = check.get(lan, "lan", "broadcast", str)
    if net is not None and broadcast is not None and broadcast != str(net.broadcast_address):
        check.add("lan.broadcast", f"{broadcast!r} is not the broadcast address of {net}",
                  f"set it to \"{net.broadcast_address}\"")
    interface = check.get(lan, "lan", "interface", str)
    if interface is not None and not re.fullmatch(r"[A-Za-z0-9_.-]{1,15}", interface):
        check.add("lan.interface", f"{interface!r} is not an interface name", "use e.g. \"eth0\" (at most 15 characters)")
    return net


def _service(check: Checker, service: dict[str, Any]) -> None:
    check.known(service, "service", SERVICE)
    check.positive(service, "service", "port", most=65535)
    check.choice(service, "service", "protocol", PROTOCOLS)
    check.choice(service, "service", "scheduler", SCHEDULERS)
    check.choice(service, "service", "forwarding", FORWARDING)
    check.text(service, "service", "request")
    check.text(service, "service", "receive")
    fallback = check.get(service, "service", "fallback", str)
    host, _, port = (fallback or "").rpartition(":")
    if fallback is not None:
        if not port.isdigit() or not 0 < int(port) < 65536:
            check.add("service.fallback", f"{fallback!r} is not address:port", "write it as \"127.0.0.1:80\"")
        else:
            check.address(host, "service.fallback", None)
    if "persistent" not in service:
        check.add("service.persistent", "is missing", "add \"persistent\": null (or seconds, e.g. 600)")
    check.positive(service, "service", "persistent", optional=True)
    check.positive(service, "service", "checktimeout")
    check.positive(service, "service", "checkinterval")


def _stack(check: Checker, stack: dict[str, Any]) -> None:
    check.known(stack, "stack", STACK)
    check.text(stack, "stack", "name")
    authkey = check.text(stack, "stack", "authkey")
    if authkey is not None and re.search(r"\s", authkey):
        check.add("stack.authkey", "contains white space (authkeys reads one word)", "use one word")
    group = check.get(stack, "stack", "mcast_group", str)
    if group is not None:
        address = check.address(group, "stack.mcast_group", None)
        if address is not None and not address.is_multicast:
            check.add("stack.mcast_group", f"{address} is not a multicast group", "use one in 224.0.0.0/4, e.g. 225.0.0.1")
    check.positive(stack, "stack", "udpport", most=65535)
    check.get(stack, "stack", "auto_failback", bool)
    timing = check.get(stack, "stack", "timing", dict, optional=True) or {}
    check.known(timing, "stack.timing", TIMING)
    seconds = {key: check.positive(timing, "stack.timing", key, optional=True) for key in TIMING}
    keepalive, deadtime = seconds["keepalive"], seconds["deadtime"]
    if keepalive is not None and deadtime is not None and keepalive >= deadtime:
        check.add("stack.timing.deadtime", f"{deadtime} is not longer than keepalive {keepalive}",
                  "make deadtime several keepalives long")


def _keepalived(check: Checker, block: dict[str, Any]) -> None:
    """The same cluster on keepalived (--lab-stack=keepalived): its VRRP instance."""
    check.known(block, "keepalived", KEEPALIVED)
    check.positive(block, "keepalived", "virtual_router_id", most=255)
    priority = check.positive(block, "keepalived", "priority", most=254)
    peer = check.positive(block, "keepalived", "peer_priority", most=254)
    if priority is not None and peer is not None and priority <= peer:
        check.add("keepalived.priority", f"{priority} is not above peer_priority {peer}",
                  "give the preferred balancer (loadb1) the higher priority, as haresources names it first")
    check.get(block, "keepalived", "nopreempt", bool)
    timing = check.get(block, "keepalived", "timing", dict, optional=True) or {}
    check.known(timing, "keepalived.timing", KEEPALIVED_TIMING)
    for key in KEEPALIVED_TIMING:
        check.positive(timing, "keepalived.timing", key, optional=True)


def _pacemaker(check: Checker, block: dict[str, Any]) -> None:
    """The same pair on Pacemaker (--lab-stack=pacemaker): auto_failback off as stickiness."""
    check.known(block, "pacemaker", PACEMAKER)
    score = check.positive(block, "pacemaker", "preferred_score")
    stickiness = check.positive(block, "pacemaker", "resource_stickiness")
    if score is not None and stickiness is not None and stickiness <= score:
        check.add("pacemaker.resource_stickiness", f"{stickiness} is not above preferred_score {score}",
                  "make it larger: auto_failback off means the resources stay where they run")


def _nodes(check: Checker, nodes: list[Any], lan: ipaddress.IPv4Network | None,
           vip: ipaddress.IPv4Address | None) -> None:
    names: dict[str, str] = {}
    used: dict[ipaddress.IPv4Address, str] = {vip: "vip"} if vip is not None else {}
    roles: dict[str, list[str]] = {role: [] for role in ROLES}
    preferred: list[str] = []
    for index, node in enumerate(nodes):
        path = f"nodes[{index}]"
        if not isinstance(node, dict):
            check.add(path, f"is {node!r}, not an object", "write it as {\"name\": ..., \"role\": ..., \"address\": ...}")
            continue
        check.known(node, path, NODE)
        name = check.get(node, path, "name", str)
        if name is not None and not NODE_NAME.fullmatch(name):
            check.add(f"{path}.name", f"{name!r} is not a node name",
                      "use lower-case letters and digits, starting with a letter (a hostname and a fixture name)")
        elif name is not None and name in names:
            check.add(f"{path}.name", f"{name!r} is also {names[name]}.name", "give each node its own name")
        elif name is not None:
            names[name] = path
        role = check.choice(node, path, "role", ROLES)
        if role is not None:
            roles[role].append(path)
        addresses = [(f"{path}.address", node["address"])] if "address" in node else []
        if not addresses:
            check.add(f"{path}.address", "is missing", "add \"address\" (an IPv4 address in the LAN)")
        aliases = check.get(node, path, "aliases", list, optional=True) or []
        addresses += [(f"{path}.aliases[{i}]", alias) for i, alias in enumerate(aliases)]
        for where, value in addresses:
            address = check.address(value, where, lan)
            if address is not None and address in used:
                check.add(where, f"{address} is also {used[address]}", "give each node and the VIP its own address")
            elif address is not None:
                used[address] = where
        if check.get(node, path, "preferred", bool, optional=True):
            preferred.append(path)
            if role != "balancer":
                check.add(f"{path}.preferred", "only a balancer can be preferred", "remove \"preferred\" here")
    _roles(check, roles, preferred)


def _roles(check: Checker, roles: dict[str, list[str]], preferred: list[str]) -> None:
    balancers, realservers, clients = roles["balancer"], roles["realserver"], roles["client"]
    if len(balancers) != 2:
        check.add("nodes", f"{len(balancers)} balancer(s) ({', '.join(balancers) or 'none'})",
                  "heartbeat's pair: exactly two nodes with \"role\": \"balancer\"")
    if len(preferred) > 1:
        check.add("nodes", f"{len(preferred)} preferred balancers ({', '.join(preferred)})",
                  "mark at most one balancer \"preferred\": true (the one haresources names)")
    if not realservers:
        check.add("nodes", "no real server", "add at least one node with \"role\": \"realserver\"")
    if len(clients) != 1:
        check.add("nodes", f"{len(clients)} client(s) ({', '.join(clients) or 'none'})",
                  "exactly one node with \"role\": \"client\" (more client addresses go in its \"aliases\")")
