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


# A split that heartbeat never heals: its late-heartbeat path (heartbeat 3.0.6, heartbeat.c,
# HBDoMsg_T_STATUS). A peer's status packet handled more than deadtime after the one before, when
# check_for_timeouts() has not yet declared the peer dead (packets are read at a higher priority
# than the timeout poll, PRI_READPKT over PRI_POLL, and the poll runs only when the main loop
# wakes), makes heartbeat call mark_node_dead() (the peer's resources are taken over) and then,
# from that same packet, "Status update ...: status active". The healed-partition restart
# (should_drop_message: a status packet from a peer whose status is "dead", "returning after
# partition") was checked before the peer was dead, so it never runs: neither heartbeat restarts,
# both keep the resources, and AuditResources() only logs "Both machines own our resources!".
_STAMP = re.compile(r"^(?P<month>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<clock>\d\d:\d\d:\d\d) ")
_LATE = re.compile(r"CRIT: Late heartbeat: Node (?P<peer>\S+): interval \d+ ms \(> deadtime\)")
_DEAD = re.compile(r"WARN: node (?P<peer>\S+): is dead")
_ALIVE = re.compile(r"Status update for node (?P<peer>\S+): status (?:active|up)\b")
_RETURNING = re.compile(r"Cluster node (?P<peer>\S+) returning after partition")
# what a heal starts with on either node: the partition seen, or a heartbeat restarting
_HEALING = re.compile(r"returning after partition|Heartbeat restart triggered|Heartbeat shutdown in progress")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _stamp(line: str) -> tuple[int, int, str] | None:
    """When heartbeat logged the line (its own `Dec 04 22:03:12` prefix); None for other lines."""
    found = _STAMP.match(line)
    return None if not found else (_MONTHS.index(found["month"]), int(found["day"]), found["clock"])


def silent_rejoins(text: str) -> list[list[str]]:
    """Each place in an ha-log where heartbeat took the late-heartbeat path (its three lines about
    one peer X, in order, with only other lines of that takeover between: "CRIT: Late heartbeat:
    Node X: interval N ms (> deadtime)", "WARN: node X: is dead", "Status update for node X:
    status active") and no
    "returning after partition" about that peer came just before it (the heal of a real
    partition takes that path too, after its restart has been set off)."""
    found: list[list[str]] = []
    lines = [line.strip() for line in text.splitlines() if _stamp(line.strip())]
    for i, line in enumerate(lines):
        late = _LATE.search(line)
        if not late or any(_RETURNING.search(before) and late["peer"] in before for before in lines[max(0, i - 8):i]):
            continue
        dead = next((j for j in range(i + 1, min(i + 6, len(lines))) if _DEAD.search(lines[j])), None)
        if dead is None or _DEAD.search(lines[dead])["peer"] != late["peer"]:
            continue
        alive = next((j for j in range(dead + 1, min(dead + 8, len(lines))) if _ALIVE.search(lines[j])), None)
        if alive is not None and _ALIVE.search(lines[alive])["peer"] == late["peer"]:
            found.append([lines[i], lines[dead], lines[alive]])
    return found


def lasting_split(logs: dict[str, str]) -> list[str]:
    """Why a pair that stays split is heartbeat's unhealed late-heartbeat split, if it is: the
    last silent rejoin in any balancer's ha-log (silent_rejoins), when neither balancer logged a
    heal (_HEALING) after it, and each "Both machines own ..." logged after it. Empty: not that
    (the caller fails the test or looks further). `logs`: each balancer's ha-log since the fault."""
    rejoins = [(_stamp(seen[0]), name, seen) for name, text in logs.items() for seen in silent_rejoins(text)]
    if not rejoins:
        return []
    when, name, seen = max(rejoins)
    after = [(other, line.strip()) for other, text in logs.items() for line in text.splitlines()
             if (stamp := _stamp(line.strip())) is not None and stamp >= when]
    if any(_HEALING.search(line) for _, line in after):
        return []
    return [f"{name}: {line}" for line in seen] + [f"{other}: {line}" for other, line in after if "Both machines own" in line]


# A takeover heartbeat never finishes: mach_down (the takeover's script) tells heartbeat it is done
# with `ha_clustermsg`, `(echo ">>>"; cat -; echo "<<<") | cat - >> $HA_FIFO` (/etc/ha.d/shellfuncs),
# which reaches the FIFO in several writes. heartbeat's FIFO reader (heartbeat.c, fifo_child) waits
# for each message under a one-second alarm, re-armed every second (setmsalarm(1000L) around
# msgfromstream): when it fires between the pieces (fork and exec under TCG), the reader has ">>>"
# and nothing more, "ERROR: msg2string: Message with zero fields", and the message is lost (by
# hand in a lab: pieces 0.7, 1.3 and 2 s apart were each lost so; 0.3 s apart, not that time). Lost, heartbeat's own
# "mach_down takeover complete." never comes: takeover_in_progress stays set, hb_rsc_isstable() is
# false, `cl_status rscstatus` says "transition" for good, and `heartbeat stop` on that node hangs.
_ZERO_FIELDS = "msg2string: Message with zero fields"
_SCRIPT_DONE = re.compile(r"mach_down takeover complete for node \S+")
_HEARTBEAT_DONE = re.compile(r"heartbeat: \[\d+\]: info: mach_down takeover complete\.")


def lost_takeover_message(text: str) -> list[str]:
    """The lines that show mach_down's completion message lost in heartbeat's FIFO, if they do:
    the FIFO reader's zero-field message, and more of mach_down's own "takeover complete for node
    X" than heartbeat's "mach_down takeover complete." (each takeover logs one of each, in either
    order). Empty: not that."""
    lines = [line.strip() for line in text.splitlines()]
    zero = [line for line in lines if _ZERO_FIELDS in line]
    done = [line for line in lines if _SCRIPT_DONE.search(line)]
    if not zero or len(done) <= sum(bool(_HEARTBEAT_DONE.search(line)) for line in lines):
        return []
    return zero + done[-1:]
