"""Parse `ipvsadm -L -n` and `ipvsadm -L --daemon`.

`ipvsadm -L -n` (ipvsadm 1.31, Linux 6.1) prints:

    IP Virtual Server version 1.2.1 (size=4096)
    Prot LocalAddress:Port Scheduler Flags
      -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
    TCP  192.168.0.105:80 rr persistent 600
      -> 192.168.0.101:80             Route   1      0          0
      -> 127.0.0.1:80                 Route   1      0          0

The tutorial prints the same table with its line breaks lost; this parser reads both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_VERSION = re.compile(r"IP Virtual Server version (?P<version>\S+) \(size=(?P<size>\d+)\)")
_SERVICE = re.compile(r"(?P<proto>TCP|UDP|SCTP|FWM)\s+(?P<addr>\S+)\s+(?P<sched>[a-z]+)(?P<flags>(?:\s+(?!->)\S+)*)")
_REAL = re.compile(r"->\s+(?P<addr>\S+)\s+(?P<fwd>Route|Masq|Tunnel|Local)\s+(?P<weight>\d+)\s+(?P<active>\d+)\s+(?P<inact>\d+)")
_HEADERS = ("Prot LocalAddress:Port Scheduler Flags", "-> RemoteAddress:Port Forward Weight ActiveConn InActConn")


@dataclass(frozen=True)
class RealServer:
    address: str
    forward: str
    weight: int
    active: int = 0
    inactive: int = 0


@dataclass(frozen=True)
class VirtualService:
    protocol: str
    address: str
    scheduler: str
    flags: tuple[str, ...] = ()
    reals: tuple[RealServer, ...] = ()

    @property
    def persistent(self) -> int | None:
        if "persistent" in self.flags:
            return int(self.flags[self.flags.index("persistent") + 1])
        return None

    def real(self, address: str) -> RealServer | None:
        return next((r for r in self.reals if r.address == address), None)


@dataclass(frozen=True)
class IpvsTable:
    version: str
    size: int
    services: tuple[VirtualService, ...] = field(default_factory=tuple)

    def service(self, address: str, protocol: str = "TCP") -> VirtualService | None:
        return next((s for s in self.services if s.address == address and s.protocol == protocol), None)


class ParseError(ValueError):
    pass


def parse_table(text: str) -> IpvsTable:
    """Parse `ipvsadm -L -n`, with or without its line breaks."""
    flat = " ".join(text.split())
    version = _VERSION.search(flat)
    if not version:
        raise ParseError(f"no 'IP Virtual Server version' line in:\n{text}")
    body = flat[version.end():]
    for header in _HEADERS:
        body = body.replace(header, " ")
    services: list[VirtualService] = []
    # Split into service chunks: each starts with a protocol word and runs until the next one.
    for chunk in re.split(r"\s(?=(?:TCP|UDP|SCTP|FWM)\s)", " " + body):
        chunk = chunk.strip()
        if not chunk:
            continue
        head = _SERVICE.match(chunk)
        if not head:
            raise ParseError(f"cannot read service line {chunk!r}")
        reals = tuple(
            RealServer(m["addr"], m["fwd"], int(m["weight"]), int(m["active"]), int(m["inact"]))
            for m in _REAL.finditer(chunk)
        )
        services.append(VirtualService(head["proto"], head["addr"], head["sched"],
                                       tuple(head["flags"].split()), reals))
    return IpvsTable(version["version"], int(version["size"]), tuple(services))


@dataclass(frozen=True)
class SyncDaemon:
    role: str  # "master" | "backup"
    mcast_interface: str
    syncid: int


_DAEMON = re.compile(r"(?P<role>master|backup) sync daemon \(mcast=(?P<iface>[^,]+), syncid=(?P<syncid>\d+)")


def parse_daemons(text: str) -> tuple[SyncDaemon, ...]:
    """Parse `ipvsadm -L --daemon` (one line per running sync daemon; empty when none)."""
    return tuple(SyncDaemon(m["role"], m["iface"], int(m["syncid"])) for m in _DAEMON.finditer(text))


def table_differences(expected: IpvsTable, observed: IpvsTable, *, may_show_route: frozenset[str] = frozenset()
                      ) -> list[str]:
    """What differs between two tables, ignoring the connection counters.

    `may_show_route`: real servers the tutorial shows as `Local` that a modern kernel
    shows as `Route` (the fallback 127.0.0.1:80; see docs/bookworm-differences.md).
    """
    problems = []
    if (expected.version, expected.size) != (observed.version, observed.size):
        problems.append(f"version: expected {expected.version} (size={expected.size}), "
                        f"saw {observed.version} (size={observed.size})")
    want = {(s.protocol, s.address): s for s in expected.services}
    have = {(s.protocol, s.address): s for s in observed.services}
    for key in want.keys() - have.keys():
        problems.append(f"missing virtual service {' '.join(key)}")
    for key in have.keys() - want.keys():
        problems.append(f"unexpected virtual service {' '.join(key)}")
    for key in want.keys() & have.keys():
        w, h = want[key], have[key]
        if (w.scheduler, w.flags) != (h.scheduler, h.flags):
            problems.append(f"{' '.join(key)}: expected {w.scheduler} {' '.join(w.flags)}, "
                            f"saw {h.scheduler} {' '.join(h.flags)}")
        wr = {r.address: r for r in w.reals}
        hr = {r.address: r for r in h.reals}
        for address in wr.keys() - hr.keys():
            problems.append(f"{' '.join(key)}: missing real server {address}")
        for address in hr.keys() - wr.keys():
            problems.append(f"{' '.join(key)}: unexpected real server {address} (weight {hr[address].weight})")
        for address in wr.keys() & hr.keys():
            forwards = {wr[address].forward}
            if address in may_show_route and wr[address].forward == "Local":
                forwards.add("Route")
            if hr[address].forward not in forwards or hr[address].weight != wr[address].weight:
                problems.append(f"{' '.join(key)} -> {address}: expected {wr[address].forward} weight "
                                f"{wr[address].weight}, saw {hr[address].forward} weight {hr[address].weight}")
    return problems


@dataclass(frozen=True)
class Connection:
    """One line of `ipvsadm -L -n -c`:

        IPVS connection entries
        pro expire state       source             virtual            destination
        TCP 09:58  ASSURED     192.168.0.51:0     192.168.0.105:80   192.168.0.102:80
        TCP 01:58  FIN_WAIT    192.168.0.51:44113 192.168.0.105:80   192.168.0.102:80

    A persistence template is the entry with source port 0 (its state was NONE on old
    kernels; Linux 6.1 shows ASSURED, as recorded above).
    """

    protocol: str
    expire: str
    state: str
    source: str
    virtual: str
    destination: str

    def __str__(self) -> str:
        return f"{self.protocol} {self.expire}  {self.state:<11} {self.source:<18} {self.virtual:<18} {self.destination}"

    @property
    def is_template(self) -> bool:
        return self.source.endswith(":0")

    @property
    def client(self) -> str:
        return self.source.rsplit(":", 1)[0]


_CONN = re.compile(r"^(?P<proto>TCP|UDP|SCTP|IP)\s+(?P<expire>\d+:\d+)\s+(?P<state>\S+)\s+(?P<src>\S+)\s+"
                   r"(?P<vip>\S+)\s+(?P<dst>\S+)\s*$", re.M)


def parse_connections(text: str) -> tuple[Connection, ...]:
    if "IPVS connection entries" not in text:
        raise ParseError(f"not `ipvsadm -L -n -c` output:\n{text}")
    return tuple(Connection(m["proto"], m["expire"], m["state"], m["src"], m["vip"], m["dst"])
                 for m in _CONN.finditer(text))


@dataclass(frozen=True)
class Stats:
    """One line of `ipvsadm -L -n --stats --exact`: the packets IPVS saw for a service or a real server.

    InPkts are client-to-server packets; OutPkts server-to-client packets that came back through
    the director: only NAT (masq) shows any, direct routing and tunnelling send replies around it.
    """

    conns: int
    in_packets: int
    out_packets: int
    in_bytes: int
    out_bytes: int


_STATS_LINE = re.compile(r"^\s*(?:(?P<proto>TCP|UDP|SCTP|FWM)\s+|->\s+)(?P<address>\S+)\s+"
                         r"(?P<n>\d+(?:\s+\d+){4})\s*$")


def parse_stats(text: str) -> dict[str, dict[str, Stats]]:
    """{virtual service: {"": its totals, real server: its counters}} from `ipvsadm -L -n --stats --exact`."""
    if not _VERSION.search(text):
        raise ParseError(f"no 'IP Virtual Server version' line in:\n{text}")
    services: dict[str, dict[str, Stats]] = {}
    current: dict[str, Stats] | None = None
    for line in text.splitlines():
        match = _STATS_LINE.match(line)
        if not match:
            continue
        stats = Stats(*map(int, match["n"].split()))
        if match["proto"]:
            current = services.setdefault(match["address"], {})
            current[""] = stats
        elif current is not None:
            current[match["address"]] = stats
        else:
            raise ParseError(f"a real server before any virtual service: {line!r}")
    return services
