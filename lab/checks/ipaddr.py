"""Parse `ip addr sh eth0`.

    2: eth0@if5: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000
        link/ether 72:00:b9:8e:55:86 brd ff:ff:ff:ff:ff:ff link-netnsid 0
        inet 192.168.0.103/24 brd 192.168.0.255 scope global eth0
           valid_lft forever preferred_lft forever
        inet 192.168.0.105/24 brd 192.168.0.255 scope global secondary eth0
           valid_lft forever preferred_lft forever

The tutorial's copy lost its line breaks and flags; this parser reads both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_INET = re.compile(r"inet (?P<addr>[\d.]+)/(?P<plen>\d+)(?: brd (?P<brd>[\d.]+))?(?P<rest>(?: (?!inet\b)\S+)*)")
_HEAD = re.compile(r"^\d+: (?P<name>[^:@\s]+)(?:@\S+)?:")


@dataclass(frozen=True)
class Inet:
    address: str
    prefixlen: int
    broadcast: str | None
    secondary: bool
    label: str | None


@dataclass(frozen=True)
class Interface:
    name: str
    inet: tuple[Inet, ...]

    @property
    def addresses(self) -> list[str]:
        return [i.address for i in self.inet]


def parse_interface(text: str) -> Interface:
    flat = " ".join(text.split())
    head = _HEAD.match(flat)
    if not head:
        raise ValueError(f"not `ip addr` output:\n{text}")
    inets = []
    for m in _INET.finditer(flat):
        words = m["rest"].split()
        label = words[-1] if words and words[-1] not in ("secondary", "dynamic", "noprefixroute") else None
        if "valid_lft" in words:  # `ip addr` puts the lifetimes after the label
            label = words[words.index("valid_lft") - 1]
        inets.append(Inet(m["addr"], int(m["plen"]), m["brd"], "secondary" in words, label))
    return Interface(head["name"], tuple(inets))
