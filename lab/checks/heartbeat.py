"""Parse what heartbeat's own status tool says about a node: `cl_status`.

An absence on the hot-standby (no VIP, no ldirectord, an empty table) proves nothing when its
heartbeat is dead: a dead standby shows the same absences. So the standby's checks first read
its heartbeat's own view, in one command run on the standby:

    $ cl_status hbstatus && { cl_status nodestatus loadb1; cl_status rscstatus; }
    Heartbeat is running on this machine.      (or "... is stopped ...": exit 1, the rest is not run;
                                                or "... is apparently running on this machine, but
                                                refuses my connection": no view to read either)
    active                                     (loadb1 as this node's heartbeat sees it: active,
                                                up, init, dead (exit 1), ping)
    local                                      (what this node holds: none, local (its own share in
                                                haresources, empty for loadb2), foreign, all,
                                                transition)

Recorded in the lab (heartbeat 3.0.6): loadb2 after the start says running, active, local; with
loadb2's heartbeat killed it says "Heartbeat is stopped on this machine." (exit 1) and loadb1
then sees loadb2 dead and holds all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HB = re.compile(r"^Heartbeat is (?P<state>running|stopped|apparently running) on this machine\b.*$", re.M)
NODE_STATES = frozenset({"active", "up", "init", "dead", "ping"})
RESOURCE_STATES = frozenset({"all", "none", "local", "foreign", "transition"})


@dataclass(frozen=True)
class HeartbeatView:
    running: bool  # hbstatus: this node's heartbeat runs and answers its client API (cl_status signed on)
    peer: str | None  # nodestatus of the node asked about, None when not printed
    resources: str | None  # rscstatus of this node, None when not printed


def parse_heartbeat_view(text: str) -> HeartbeatView:
    found = _HB.search(text)
    if not found:
        raise ValueError(f"not `cl_status hbstatus` output:\n{text}")
    after = [line.strip() for line in text[found.end():].splitlines() if line.strip()]
    peer = after[0] if after and after[0] in NODE_STATES else None
    rest = after[1:] if peer else after
    resources = rest[0] if rest and rest[0] in RESOURCE_STATES else None
    return HeartbeatView(found["state"] == "running", peer, resources)


TIMERS = ("keepalive", "warntime", "deadtime", "initdead")
# heartbeat 3.0.6's own defaults for what ha.cf leaves out (its option table in the binary:
# `strings /usr/libexec/heartbeat/heartbeat` shows "keepalive 1000ms", "deadtime 30000ms"). The
# tutorial's ha.cf sets no timer, so these are the tutorial's timing.
HEARTBEAT_DEFAULTS = {"keepalive": 1.0, "deadtime": 30.0}


def parse_ha_timing(text: str) -> dict[str, float]:
    """heartbeat's timers as /etc/ha.d/ha.cf sets them (seconds; a value may carry `ms`).

        keepalive 1
        deadtime 10
    A timer the file does not set is absent: heartbeat's own default applies (HEARTBEAT_DEFAULTS)."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) == 2 and words[0] in TIMERS:
            value = words[1]
            found[words[0]] = float(value[:-2]) / 1000 if value.endswith("ms") else float(value)
    return found


# How a healed split goes, in heartbeat's own words (ha-log): both heartbeats restart, one gives
# up and sends its shutdown notice, the other takes everything over. TAKEOVER_RACE is the line of
# the race that has kept pairs "in transition" past the fault tests' bound under TCG (README,
# findings): a peer's T_STARTING arriving while this node's takeover runs.
HEAL_WORDS = re.compile(r"T_STARTING received during takeover|returning after partition|Both machines own|"
                        r"No one owns|Giving up all HA resources|All HA resources relinquished|"
                        r"Initial resource acquisition complete|mach_down takeover complete|"
                        r"remote resource transition completed|is dead|Heartbeat restart|Received shutdown notice|"
                        r"Ignored standby message|received ip-request-resp")
TAKEOVER_RACE = "T_STARTING received during takeover"


def heal_story(text: str) -> list[str]:
    """The lines of an ha-log excerpt that tell how a healed split went (HEAL_WORDS)."""
    return [line.strip() for line in text.splitlines() if HEAL_WORDS.search(line)]


def known_race(said: dict[str, list[str]], roles: dict[str, str], *, unsettled: str) -> list[str]:
    """Why a pair that did not settle is the known race, if it is: each balancer's TAKEOVER_RACE
    lines in what it said (heal_story), and each balancer whose stack is still `unsettled` (in
    transition). Empty: not the known race (the caller fails the test)."""
    lines = [f"{name}: {line}" for name, story in said.items() for line in story if TAKEOVER_RACE in line]
    return lines + [f"{name} still in transition" for name, role in roles.items() if role == unsettled]
