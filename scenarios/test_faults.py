"""Faults: chapter 7's failover, the hard way, measured as clients feel it.

Chapter 7 stops heartbeat on the active balancer politely (`/etc/init.d/heartbeat stop`: it
gives its resources up and tells its peer). Real balancers crash, hang and lose their cable.
Here the active balancer (whichever holds the VIP when a test starts) is hit while the client
asks the site 20 times a second:

- heartbeat is SIGKILLed on it: it tells its peer nothing and gives nothing up;
- the whole node is frozen: every process stopped, as a hung host looks from outside;
- its LAN cable is pulled at the switch, and plugged in again;
- it loses its power (a crash), and is booted again;
- a real server crashes, and is booted again;
- the two balancers lose each other while clients and real servers still reach both (split brain);
- the standby stops hearing the LAN, its heartbeat stalls, and it hears again while stalled: its
  next heartbeat from the active is handled past deadtime (a split heartbeat never heals);
- chapter 7's failover in a hurry: heartbeat started again on the old active while the new one
  still takes over (the race of slow runs, made on purpose);
- the whole LAN gets slow, then lossy, step by step, until the VIP moves (the flapping threshold);
- the crash again with the tutorial's own timing (its ha.cf sets no timer: heartbeat's defaults).

The hot-standby must take over within heartbeat's deadtime, read from the ha.cf provisioning
wrote, plus a stated margin. What clients saw (requests failed, the longest time with no good
answer) is recorded as figures, and the whole timeline as JSON under the report's `failover/`.
Heartbeat's detection is read from the standby's own log ("node X: is dead") and must come
deadtime after the last heartbeat it heard. Once the standby's own stack says its takeover is
complete (not only the VIP listed: see takeover_completed), the old active comes back the way it would.
Restarted by hand or booted, auto_failback being off, it must not take the VIP back, and the
cluster must be back to one VIP holder within CONVERGE seconds. Thawed or reconnected, it still
holds its resources, and both heartbeats see a healed split: the pair must settle to one active
and its standby within SPLIT_CONVERGE seconds, and which of the two wins is reported (it has
differed between runs: a finding).

While the fault lasts, two balancers listing the VIP is not a violation but the fault itself:
nobody tells the faulted node to give its VIP up (its heartbeat is dead, frozen or cut off), and
a namespace keeps its addresses and IPVS table whatever its processes do; the sampler measures
that window and the report shows it. Before the fault exactly one holder is required. A frozen
namespace node is frozen in its processes only: its kernel still answers ARP and forwards
through IPVS, as a hung host would not. Each test leaves the cluster with one active and a live
standby, and the next test faults whichever is active.
"""

from __future__ import annotations

import re
import time
from typing import Callable

import pytest

from lab.checks.http import served_by
from lab.readings import ipvs_table, vip_holders
from lab.checks.heartbeat import (HEARTBEAT_DEFAULTS, TAKEOVER_RACE, TIMERS, heal_story, known_race, lasting_split,
                                  parse_ha_timing, parse_heartbeat_view, silent_rejoins)
from lab.errors import LabError
from lab.failover import lost_takeover, resource_stops
from lab.faults import kill_tree
from lab.plot import picture
from lab.pytest_plugin import reports_folder
from lab.recorder import Recorder
from lab.stacks import stack_of
from lab.stacks.base import ACTIVE, UNSETTLED
from lab.stages import wait_for_real_servers
from lab.timeline import Event, figures
from lab.wait import poll_until, wait_until
from scenarios.steps import balancer_views, check_standby_alive, judge_pair, live_pair, restart_pair

pytestmark = [pytest.mark.faults, pytest.mark.usefixtures("chapter7_cluster", "one_active_afterwards")]

RATE = 20.0             # client requests per second, each on a new connection
BASELINE = 4.0          # seconds of load before the fault
# Detection: the standby declares the peer dead `deadtime` after the last heartbeat it heard, sent
# at most `keepalive` before the fault; heartbeat logs it to the second: deadtime - keepalive - 1 s
# after the fault verb began at the earliest, deadtime + DETECTION_SLACK after it ended at the
# latest (a SIGKILL is three node commands; in a slow run of 2026-11-27 that made it 12.03 s).
DETECTION_SLACK = 2.0
# Takeover: after detection the standby runs haresources' scripts before the VIP is up. Its log
# shows ldirectord's Perl started three times (status from heartbeat, status and start from
# ResourceManager), then LVSSyncDaemonSwap master start and IPaddr2, all under the client's load.
# Perl's start-up dominates and varies with the emulation's speed: g1's takeovers took 39-71 s;
# on a slow evening (2026-11-27, one unloaded ldirectord start-up 15-21 s) 112-158 s, that is 5 to
# 10 unloaded start-ups after detection. So the margin is measured on the standby just before the
# fault, under the client's load: MARGIN (heartbeat's own steps) plus SLACK times three runs of
# `ldirectord ldirectord.cf status`; never less than deadtime + MARGIN + 30 s.
MARGIN = 60.0
LDIRECTORD_RUNS = 3
SLACK = 4.0


def takeover_bound(standby, deadtime: float) -> tuple[float, str]:
    """deadtime + MARGIN + SLACK x LDIRECTORD_RUNS x one `ldirectord status` on the standby, now
    (under the client's load: in a one-vCPU microVM the load takes much of the CPU the takeover
    needs; CI 2026-11-28, one vCPU, start-up timed before the load: takeovers of 93 and 122 s
    against bounds of 130 and 127 s)."""
    started = time.monotonic()
    standby.run("/etc/ha.d/resource.d/ldirectord ldirectord.cf status", timeout=300)
    one = time.monotonic() - started
    bound = deadtime + MARGIN + max(SLACK * LDIRECTORD_RUNS * one, 30.0)
    return bound, (f"deadtime {deadtime:.0f} s + {MARGIN:.0f} s + {SLACK} x {LDIRECTORD_RUNS} ldirectord "
                   f"start-ups of {one:.1f} s (measured on {standby.name} under the client's load, before the fault)")


AFTER_TAKEOVER = 6.0    # load kept running after the takeover, to see answers come back
LOAD_CAP = 900.0        # the outage's load stops by itself after this (it is stopped AFTER_TAKEOVER after the takeover)
RECOVERY_LOAD = 300.0   # the longest the old active's return is watched under load (it ends AFTER_TAKEOVER after the rejoin)
CONVERGE = 90.0         # after that, the cluster is back to one VIP holder within this
REJOIN_TIMEOUT = 180.0  # the old active's heartbeat running and seeing its peer active


# `./run.sh test` runs the faults family in a lane beside the chapters, and that lane is CI's
# critical path (faults 3756 s, the chapters' lane with keepalived and Pacemaker 3074 s, CI of
# 2026-12-07): these two (78 and 268 s there), each starting from and leaving one active with its
# live standby like every fault test, run in the chapters' lane instead (after sync, before security).
CHAPTERS_LANE = pytest.mark.chapters_lane

# While a fault lasts, two VIP holders are the fault itself (the invariant watcher allows it in the
# tests so marked), and heartbeat's own words for a split brain and its end are expected in its log.
TWO_HOLDERS = pytest.mark.expected(two_vip_holders="the faulted active keeps its VIP: nobody tells it to give it up",
                                   logs=(r"Both machines own .* resources", r"returning after partition",
                                         r"CRIT: Late heartbeat"))


@pytest.fixture(scope="module")
def timers(cluster, lab) -> dict[str, float]:
    """heartbeat's timers as the balancers run them: /etc/ha.d/ha.cf (the same on both), as cluster.json set them."""
    seen = {n.name: parse_ha_timing(lab.node(n.name).succeed(["cat", "/etc/ha.d/ha.cf"])) for n in cluster.balancers}
    first = next(iter(seen.values()))
    assert all(t == first for t in seen.values()), f"the balancers' ha.cf timers differ: {seen}"
    assert first == {k: float(v) for k, v in cluster.stack.timing.items()}, \
        f"ha.cf's timers {first} are not cluster.json's {cluster.stack.timing}"
    return first


@pytest.fixture
def roles(lab, cluster, tutorial):
    """(active, standby) as the cluster is now: one VIP holder whose own stack says its takeover
    is over, the other's heartbeat live and seeing it active, every real server in service.
    Checked, never arranged: the wait for the takeover to be over is a wait, not a repair (a
    heartbeat's words from then on are its reaction to this test's fault; CI of 2026-12-06: a
    repair's takeover still running logged its end in the next test)."""
    holders = vip_holders(lab)
    assert len(holders) == 1, f"a fault test starts from one active balancer; the VIP is held by {holders}"
    active = lab.node(holders[0])
    standby = lab.node(next(n.name for n in cluster.balancers if n.name != active.name))
    calm, seen = poll_until(_takeover_over(lab, active, standby), timeout=SPLIT_CONVERGE, interval=2)
    assert calm, f"{active.name}'s stack never said its takeover was complete within {SPLIT_CONVERGE:.0f} s: {seen}"
    check_standby_alive(tutorial, cluster, standby, active=active.name, chapter="faults")
    wait_for_real_servers(lab)
    return active, standby


def _macs(lab, *nodes) -> dict[str, str]:
    """Each node's LAN MAC address, to tell whose the client's ARP entry is (_arp_owner)."""
    return {lab.node(n).succeed(["cat", f"/sys/class/net/{lab.cluster.interface}/address"]).strip(): n for n in nodes}


def _arp_owner(neigh: str, macs: dict[str, str]) -> str:
    """Whose MAC an `ip neigh show` line holds."""
    return next((name for mac, name in macs.items() if mac in neigh), "neither balancer's MAC")


def _save(request, timeline, phase: str, *, title: str = "") -> str:
    """The timeline as JSON under the report's failover/, and, when titled (once it is complete),
    its plot beside it (lab.plot.picture: drawn by the host when the run is in the microVM),
    shown in the report's faults section."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    folder = reports_folder(request.config)
    if title:
        timeline.notes["title"] = title
    path = timeline.save(folder / "failover" / f"{name}-{phase}.json")
    if title:
        request.getfixturevalue("tutorial").image("faults", title, str(picture(timeline, path).relative_to(folder)))
    return str(path)


def _outage(request, tutorial, lab, faults, timers, *, make_fault, title: str):
    """Phase 1: the fault on the active under load. Returns (active, standby, fault, timeline)."""
    active, standby = request.getfixturevalue("roles")
    with Recorder(lab, duration=LOAD_CAP, rate=RATE) as rec:
        time.sleep(BASELINE)
        bound, derived = takeover_bound(standby, timers["deadtime"])  # under the client's load, as the takeover runs
        request.node.faulted = active.name  # for one_active_afterwards
        standby_log = lab.log_sizes(standby.name, stack_of(lab.cluster).logs)  # why a takeover did not complete
        fault = make_fault(active.name)
        made = time.time() - fault.at  # the verb's own time (a SIGKILL is three node commands: 1-2 s on a slow day)
        rec.timeline.events.append(Event(fault.at, "fault", active.name))
        rec.timeline.notes.update(fault=fault.describe(), fault_took=round(made, 2), timers=timers, bound=bound,
                                  bound_from=derived)
        # the standby to list the VIP; the takeover's bound is checked below, on the saved timeline
        poll_until(lambda: (standby.name in rec.holders_now(), rec.holders_now()), timeout=bound + 5, interval=0.5)
        # the fault is undone (thaw, plug, boot, restart) only once the takeover is over: see takeover_completed
        complete = takeover_completed(rec, lab, standby, active, timeout=bound) \
            if standby.name in rec.holders_now() else None
        time.sleep(AFTER_TAKEOVER)
        rec.stop_load()
    timeline = rec.timeline
    before = {s.holders for s in timeline.holders if s.t < fault.at and not s.unknown}
    assert before == {(active.name,)}, f"before the fault only {active.name} should list the VIP; samples saw {before}"
    seen = figures(timeline, fault="fault", new_active=standby.name)
    two = rec.windows_with_two_holders(after=fault.at)
    detected = declared_dead(standby, active.name, since=fault.at)
    if detected is not None:
        timeline.events.append(Event(detected, f"{standby.name} declares {active.name} dead", standby.name))
    where = _save(request, timeline, "fault", title=f"{title}: {fault.describe()}")
    # from the verb's start (earliest) and from its end (latest): the fault lands somewhere in between
    earliest, latest = timers["deadtime"] - timers["keepalive"] - 1, timers["deadtime"] + DETECTION_SLACK + made
    detection = None if detected is None else detected - fault.at
    tutorial.record("faults", f"{title}: the standby declares it dead after deadtime", standby.name,
                    f"grep 'node {active.name}: is dead' /var/log/ha-log",
                    f"between {earliest:.0f} and {latest:.1f} s after the fault began (deadtime "
                    f"{timers['deadtime']:.0f} s, keepalive {timers['keepalive']:.0f} s, the fault took {made:.1f} s)",
                    "no such line" if detection is None else f"{detection:.1f} s after the fault (logged to the second)",
                    "PASS" if detection is not None and earliest <= detection <= latest else "FAIL")
    tutorial.figure("faults", f"{title}: detection ({standby.name} logs {active.name} dead)",
                    "never" if detection is None else f"{detection:.0f} s")
    tutorial.figure("faults", f"{title}: takeover by {standby.name} (fault to VIP listed)",
                    "never" if seen.takeover is None else f"{seen.takeover:.1f} s (bound {bound:.0f} s)")
    tutorial.figure("faults", f"{title}: takeover complete ({standby.name}'s own {_STATUS_WORD})",
                    "never" if complete is None else f"{complete - fault.at:.1f} s after the fault")
    tutorial.figure("faults", f"{title}: client-visible gap", f"{seen.longest_gap:.2f} s")
    tutorial.figure("faults", f"{title}: requests failed", f"{seen.failed} of {seen.requests}")
    tutorial.figure("faults", f"{title}: first good answer after a failure",
                    "no request failed" if seen.first_good_after_failure is None
                    else f"{seen.first_good_after_failure:.1f} s after the fault")
    tutorial.figure("faults", f"{title}: both balancers listed the VIP", _windows(two, fault.at))
    tutorial.fault_row(fault=f"{title} ({active.name})",
                       detection="never" if detection is None else f"{detection:.0f} s",
                       takeover=("never" if seen.takeover is None else f"{seen.takeover:.1f} s (bound {bound:.0f} s)")
                       + ("" if complete is None else f"; complete {complete - fault.at:.1f} s"),
                       **{"client-visible gap": f"{seen.longest_gap:.2f} s",
                          "requests failed": f"{seen.failed} of {seen.requests}",
                          "two VIP holders": _windows(two, fault.at), "afterwards": "(not reached)"})
    tutorial.record("faults", f"{title}: the standby takes over within deadtime + the takeover's scripts",
                    standby.name, f"ip addr sh {lab.cluster.interface} (sampled every 0.5 s)",
                    f"{standby.name} lists {lab.cluster.vip} within {bound:.0f} s ({derived})",
                    f"{seen.describe()}\ntimeline: {where}",
                    "PASS" if seen.takeover is not None and seen.takeover <= bound else "FAIL")
    assert detection is not None and earliest <= detection <= latest, \
        f"{standby.name} should declare {active.name} dead {earliest:.0f}-{latest:.1f} s after {fault.describe()} began; " \
        f"{'it logged no such line' if detection is None else f'it did after {detection:.1f} s'}"
    assert seen.takeover is not None and seen.takeover <= bound, \
        f"{standby.name} should list the VIP within {bound:.0f} s of {fault.describe()}: {seen.describe()}"
    incomplete = f"{standby.name} listed the VIP but its stack never said its takeover was complete within " \
                 f"{bound:.0f} s: {timeline.notes.get(f'{standby.name} takeover incomplete', '?')}"
    if complete is None and (finding := lost_takeover(lab, standby.name, standby_log, what=incomplete)):
        request.node.stuck = standby.name  # for one_active_afterwards: no use waiting for it
        raise finding  # the FIFO's lost message (README, findings): heartbeat will never say it is done
    assert complete is not None, incomplete
    return active, standby, fault, timeline, two


# The command whose answer says a takeover is complete (named in the report's figures).
_STATUS_WORD = "cl_status rscstatus"


def _takeover_over(lab, node, peer) -> Callable[[], tuple[bool, str]]:
    """A probe: whether `node`'s own stack says it is active, its takeover over (not "in transition")."""
    stack, spec = stack_of(lab.cluster), lab.cluster.node(peer.name)

    def probe() -> tuple[bool, str]:
        view = stack.read(node, spec)
        return view.role == ACTIVE, f"{node.name}: {view.role}: {' / '.join(view.said.splitlines())}"
    return probe


def takeover_completed(rec, lab, node, peer, *, timeout: float) -> float | None:
    """When `node`'s own stack said its takeover was complete (heartbeat: `cl_status rscstatus`
    says "all", no longer "transition"), as a time on the timeline; None if not within `timeout`.

    Listing the VIP is not the end of a heartbeat takeover: after IPaddr2, heartbeat's
    ResourceManager runs the group's status checks again (ldirectord's Perl, seconds each under
    TCG) and the node stays "in transition" meanwhile. A peer whose heartbeat starts in that
    window (a thaw, a plugged cable, a boot, a healed partition: each restarts it) sends
    T_STARTING, and heartbeat's process_resources() then marks the peer unstable mid-takeover
    ("WARN: T_STARTING received during takeover"); in slow runs that pair never settled (the
    finding of 2026-11-27/12-03, README). So the fault tests undo a fault only after the takeover
    is over, as an operator would before repairing the failed node, and report when it was."""
    try:
        wait_until(_takeover_over(lab, node, peer), timeout=timeout, interval=1,
                   what=f"{stack_of(lab.cluster).name} on {node.name} to complete its takeover")
    except AssertionError as failure:
        rec.timeline.notes[f"{node.name} takeover incomplete"] = str(failure)
        rec.mark(f"{node.name}'s takeover not complete", node.name)
        return None
    return rec.mark(f"{node.name}'s takeover complete", node.name).t


def _windows(two, at: float) -> str:
    """Two-holder windows relative to `at`, as the report shows them."""
    return "; ".join(f"from {b - at:+.1f} s to {e - at:+.1f} s ({', '.join(w)})" for b, e, w in two) or "never"


def _afterwards(tutorial, text: str) -> None:
    """The last fault row's outcome once the faulted node is back."""
    if tutorial.fault_rows:
        tutorial.fault_rows[-1]["afterwards"] = text


def declared_dead(node, peer: str, *, since: float) -> float | None:
    """When `node`'s heartbeat logged `peer` dead (its last such line, if not before `since`):

        Nov 27 00:31:37 loadb2 heartbeat: [215]: WARN: node loadb1: is dead
    The node's own `date` reads the stamp, in the node's time zone."""
    result = node.run(f"stamp=$(grep -h 'WARN: node {peer}: is dead' /var/log/ha-log | tail -n 1 | cut -c1-15); "
                      "[ -n \"$stamp\" ] && date -d \"$stamp\" +%s")
    if not result.ok:
        return None
    at = float(result.stdout.strip())
    return at if at >= since - 1 else None


def _rejoined(old, peer) -> None:
    def probe():
        result = old.run(f"cl_status hbstatus && cl_status nodestatus {peer.name} && cl_status rscstatus")
        try:
            view = parse_heartbeat_view(result.stdout + result.stderr)
        except ValueError:
            return False, result.describe()
        return view.running and view.peer == "active", view

    wait_until(probe, timeout=REJOIN_TIMEOUT, interval=2, what=f"{old.name}'s heartbeat to run and see {peer.name} active")


def _recovery(request, tutorial, lab, faults, fault, old, new, *, title: str, how: str, stale: str = "") -> None:
    """Phase 2: the old active comes back under load; the new one must keep the VIP (auto_failback
    off), and the cluster must be back to that one VIP holder within CONVERGE seconds. Where a real
    run found otherwise, the finding is asserted instead, with its reason: `stale`, the old active
    still lists the VIP beside the new."""
    with Recorder(lab, duration=RECOVERY_LOAD, rate=RATE) as rec:
        time.sleep(BASELINE)
        at = faults.heal(fault)
        rec.timeline.events.append(Event(at, "recovery", old.name))
        rec.timeline.notes.update(recovery=how)
        _rejoined(old, new)
        rec.mark("rejoined", old.name)
        # what the pair does once it sees itself whole again, under load, until the state checked below
        _settled(rec, tuple(sorted((old.name, new.name))) if stale else (new.name,))
        rec.stop_load()
    timeline = rec.timeline
    where = _save(request, timeline, "recovery", title=f"{title}: {how}")
    seen = figures(timeline, fault="recovery", new_active=new.name)
    two = rec.windows_with_two_holders(after=at)
    tutorial.figure("faults", f"{title}: while {old.name} came back ({how}), client-visible gap",
                    f"{seen.longest_gap:.2f} s")
    tutorial.figure("faults", f"{title}: while {old.name} came back, requests failed", f"{seen.failed} of {seen.requests}")
    tutorial.figure("faults", f"{title}: while {old.name} came back, both listed the VIP", _windows(two, at))
    _afterwards(tutorial, f"{how}: gap {seen.longest_gap:.2f} s, {seen.failed} of {seen.requests} failed, "
                          f"two holders {_windows(two, at)}")
    lost = [s for s in timeline.holders if s.t >= at and new.name not in s.holders and new.name not in s.unknown]
    tutorial.record("faults", f"{title}: {new.name} keeps the VIP while {old.name} comes back (auto_failback off)",
                    new.name, f"ip addr sh {lab.cluster.interface} (sampled every 0.5 s)",
                    f"{new.name} lists {lab.cluster.vip} in every sample after {how}",
                    f"{len(lost)} samples without it; {seen.describe()}\ntimeline: {where}",
                    "FAIL" if lost else "PASS")
    assert not lost, f"auto_failback is off: {new.name} should keep the VIP, but samples saw {[s.holders for s in lost][:5]}"

    if stale:
        _stale_vip(tutorial, lab, timeline, old, new, title=title, how=how, why=stale, where=where)
        return

    def one_holder():
        holders = vip_holders(lab)
        return holders == [new.name], holders

    started = time.monotonic()
    try:
        wait_until(one_holder, timeout=CONVERGE, interval=2, what=f"{new.name} alone to hold the VIP")
        verdict, settled = "PASS", f"{time.monotonic() - started:.0f} s after the old active rejoined"
    except AssertionError as failure:
        verdict, settled = "FAIL", str(failure)
    views = {n.name: n.run("cl_status rscstatus").stdout.strip() for n in (old, new)}
    tutorial.record("faults", f"{title}: one VIP holder again once {old.name} is back", f"{old.name}, {new.name}",
                    f"ip addr sh {lab.cluster.interface}; cl_status rscstatus",
                    f"VIP on {new.name} only within {CONVERGE:.0f} s; {old.name} holds none",
                    f"{settled}; VIP held by {vip_holders(lab)}; rscstatus {views}", verdict)
    _afterwards(tutorial, f"{tutorial.fault_rows[-1]['afterwards'] if tutorial.fault_rows else ''}; "
                          f"{new.name} alone holds the VIP: {settled}")
    assert verdict == "PASS", f"after {how} the VIP should be on {new.name} alone: {settled}; rscstatus {views}"


SETTLED = 15.0  # the same single VIP holder for this long: the pair has settled


def _settled(rec, want: tuple[str, ...]) -> None:
    """Wait (at most CONVERGE s) until every sample of the last SETTLED s shows `want` as the
    holders: the state the test then checks, seen to last (a heartbeat restarting after a
    partition gives its resources up only after tens of seconds)."""
    def probe():
        now = time.time()
        recent = [s.holders for s in rec.timeline.holders if s.t >= now - SETTLED]
        began = rec.timeline.holders[0].t if rec.timeline.holders else now
        return now - began >= SETTLED and set(recent) == {want}, recent[-1:]

    settled, _ = poll_until(probe, timeout=CONVERGE, interval=1)
    rec.mark("settled" if settled else "not settled")


def _no_holder(timeline, after: float) -> float:
    """Seconds after `after` during which no balancer listed the VIP (each sample until the next)."""
    samples = sorted((s for s in timeline.holders if s.t >= after), key=lambda s: s.t)
    return sum(b.t - a.t for a, b in zip(samples, samples[1:]) if not a.holders and not a.unknown)


def _stale_vip(tutorial, lab, timeline, old, new, *, title: str, how: str, why: str, where: str) -> None:
    """FINDING: once its heartbeat rejoined, the old active still lists the VIP beside the new active,
    in every sample to the end of the load and still now: nothing makes it give the VIP up."""
    rejoined = timeline.event("rejoined").t
    after = [s.holders for s in timeline.holders if s.t >= rejoined and not s.unknown]
    holders = vip_holders(lab)
    views = {n.name: n.run("cl_status rscstatus").stdout.strip() for n in (old, new)}
    both = tuple(sorted((old.name, new.name)))
    seen = (f"{len(after)} samples after the rejoin, holders {sorted(set(after))}; VIP held now by {holders}; "
            f"rscstatus {views}\ntimeline: {where}")
    ok = bool(after) and set(after) == {both} and holders == list(both)
    tutorial.record("faults", f"FINDING, {title}: {old.name} keeps the VIP beside {new.name} after {how}",
                    f"{old.name}, {new.name}", f"ip addr sh {lab.cluster.interface}; cl_status rscstatus",
                    f"both list {lab.cluster.vip}: {why}", seen, "PASS" if ok else "FAIL")
    assert ok, f"expected (a finding of an earlier run) both {both} to keep listing the VIP after {how}: {seen}"


# Each of the repair's steps: they take 1-14 s under TCG; heartbeat's stop once hung for 300 s
# (a heartbeat the active had dropped as a replay), and a repair that hangs helps no next test.
STEP_TIMEOUT = 120.0
HAND_ON = 180.0  # how long a pair still moving after a test (a takeover, a give-up) is given to settle alone


def _moving(lab) -> tuple[bool, tuple[str | None, str, dict[str, str]]]:
    """A probe: done once the pair is live (live_pair) or has stopped moving (no balancer's stack
    in transition and someone holds the VIP); what it saw: (the live holder, how, each role).
    Each balancer's view is read once, for both verdicts."""
    holders, views = vip_holders(lab), balancer_views(lab)
    holder, seen = judge_pair(holders, views)
    roles = {} if holder is not None else {name: view.role for name, view in views.items()}
    still = bool(roles) and (UNSETTLED in roles.values() or not holders)
    return not still, (holder, seen, roles)


@pytest.fixture
def one_active_afterwards(request, lab, tutorial):
    """After a fault test (its faults undone), the next test needs one active and a live standby,
    whichever they are (live_pair: the holder's own stack says its takeover is over too). A pair
    still moving (a stack in transition, nobody holding the VIP) is first given HAND_ON seconds
    to settle by itself. If the test left anything else (a balancer still listing the VIP it was
    never told to give up, a heartbeat in transition for good), an operator's steps put it right
    on one node, recorded in the report as a HARNESS STEP: heartbeat stop (SIGKILL where its stack
    is still in transition: its stop hangs there, README; with the ResourceManager and scripts it
    started, which would go on without it: kill_tree), the haresources scripts' stop for what
    is left, the other balancer's takeover over, heartbeat start; then one active and its live
    standby. The node is the one stuck in transition if one is (not waited for where the test saw
    its takeover message lost), else the faulted one. A repair that does not get there is this
    test's error (LabError), not a surprise for the next one's `roles`."""
    yield
    old_name = getattr(request.node, "faulted", None)
    if old_name is None:
        return
    cluster = lab.cluster
    started = time.monotonic()
    known = getattr(request.node, "stuck", None)  # a takeover the test saw lost for good (lost_takeover)
    _, (holder, seen, roles) = poll_until(lambda: _moving(lab), timeout=0 if known else HAND_ON, interval=3)
    if holder is not None:  # one active and the standby the next test's `roles` checks
        if time.monotonic() - started > 10:
            tutorial.figure("faults", f"after {request.node.name}: the pair settled by itself",
                            f"{time.monotonic() - started:.0f} s after the test ({seen})")
        return
    stuck = [name for name, role in roles.items() if role == UNSETTLED]
    target = lab.node(stuck[0] if stuck else old_name)
    stop = ("kill -KILL heartbeat and every process below it (its stack " + ("lost its takeover's message" if known else
                                                 f"still in transition after {HAND_ON:.0f} s") + ": stop would hang)"
            if target.name in stuck else "/etc/init.d/heartbeat stop")
    steps = [stop, *resource_stops(cluster), "/etc/init.d/heartbeat start"]
    results = []
    if target.name in stuck:
        pids = kill_tree(target, "heartbeat")
        steps[0] += f": pids {pids}"
    else:
        results.append(target.run(steps[0], timeout=STEP_TIMEOUT))
    results += [target.run(step, timeout=STEP_TIMEOUT) for step in steps[1:-1]]
    # as an operator would, and as fail_over does: the other's takeover over before this one starts
    # (a heartbeat started mid-takeover is the race test_heartbeat_started_again_... makes)
    other = lab.node(next(n.name for n in cluster.balancers if n.name != target.name))
    took, taking = poll_until(_takeover_over(lab, other, target), timeout=300, interval=3)
    steps.insert(-1, f"wait for {other.name}'s own stack to say its takeover is over: "
                     + ("seen" if took else f"not within 300 s ({taking})"))
    results.append(target.run(steps[-1], timeout=STEP_TIMEOUT))

    def handed_on():  # the other takes the resources over if need be (minutes under TCG), target rejoins
        holder, seen = live_pair(lab)
        return holder is not None, seen

    back, after = poll_until(handed_on, timeout=300, interval=3)
    verdict = "PASS" if back and all(r.ok for r in results) else "ERROR"
    tutorial.record("faults", f"HARNESS STEP: the pair put right on {target.name} for the next test", target.name,
                    " ; ".join(steps), "(an operator's repair, not a check)",
                    f"before: {seen}; roles {roles}\n" + "\n".join(r.describe() for r in results)
                    + ("" if back else f"\nno live pair within 300 s; last saw: {after}"), verdict)
    if not back:
        raise LabError(f"after the test the lab was not put right: one active and its live standby was not seen "
                       f"within 300 s of the repair on {target.name}; before it: {seen}; last saw: {after}",
                       "the next tests need a fresh lab: lvslab down; lvslab up (the report has the steps' output)")


@TWO_HOLDERS
def test_heartbeat_killed_on_the_active(request, tutorial, lab, faults, timers):
    title = "heartbeat SIGKILLed on the active"
    old, new, fault, _, _ = _outage(request, tutorial, lab, faults, timers, title=title,
                                    make_fault=lambda node: faults.kill(node, "heartbeat"))
    # FINDING (first run, 2026-11-27): the SIGKILLed heartbeat never ran its resources' stop
    # scripts, and the restarted one, seeing the peer active, takes nothing and releases nothing:
    # loadb1 kept the VIP (and its IPVS table) beside loadb2 for as long as we watched.
    _recovery(request, tutorial, lab, faults, fault, old, new, title=title,
              how=f"heartbeat started again on {old.name} (/etc/init.d/heartbeat start)",
              stale="the killed heartbeat never released its resources and the restarted one, seeing "
                    "the peer active, releases nothing it does not believe it holds")


@TWO_HOLDERS
def test_active_node_frozen(request, tutorial, lab, faults, timers):
    title = "the active node frozen"
    old, new, fault, _, _ = _outage(request, tutorial, lab, faults, timers, title=title, make_fault=faults.freeze)
    # FINDING (runs of 2026-11-27): thawed, the frozen node logged "Late heartbeat: Node loadb1:
    # interval 75100 ms (> deadtime)", "node loadb1: is dead", "Both machines own our resources!";
    # the other logged "Cluster node loadb2 returning after partition", restarted its heartbeat and
    # was "Giving up all HA resources". In three runs the thawed node was the only VIP holder 7-9 s
    # after the thaw; in CI's run both still listed the VIP 90 s after it, each heartbeat's
    # resources "in transition". So the thaw is a healed split, as the cut link's reconnection is.
    _returned(request, tutorial, lab, faults, fault, old, new, title=title, how=f"{old.name} thawed")


@TWO_HOLDERS
def test_active_link_cut(request, tutorial, lab, faults, timers):
    title = "the active's link cut"
    old, new, fault, _, _ = _outage(request, tutorial, lab, faults, timers, title=title, make_fault=faults.cut_link)
    _returned(request, tutorial, lab, faults, fault, old, new, title=title, how=f"{old.name}'s link plugged in again",
              no_holder="both heartbeats see the other \"returning after partition\", restart and give every "
                        "resource up")


def _returned(request, tutorial, lab, faults, fault, old, new, *, title: str, how: str, no_holder: str = "") -> None:
    """Phase 2 of a fault the peer saw as a split (a cut link, a freeze), under load: the faulted
    node back with its resources still held. Both heartbeats see the other "returning after
    partition" and restart; what follows differed between runs (the cut link: no holder for 41 s
    and 60 s, then the cut-off node in one run and the other in the next; the thaw: the thawed node
    alone after 7-9 s in three runs; in two CI runs it never settled). Checked: the pair settles to
    one active and its standby within SPLIT_CONVERGE; where `no_holder` says why, a window with no
    VIP holder before that (a finding of every run so far, asserted). A pair that does not settle is
    a FAIL row, and an expected failure only where heartbeat's own log or status shows the known
    race (not_settled); what heartbeat said after the heal is in the report either way. Which node
    wins is reported, not asserted: auto_failback off does not decide it."""
    with Recorder(lab, duration=BASELINE + SPLIT_CONVERGE + SETTLED + AFTER_TAKEOVER + 10, rate=RATE) as rec:
        time.sleep(BASELINE)
        rec.timeline.notes.update(recovery=how)
        at, converged, said = _heal_and_settle(rec, lab, faults, fault, who=old.name)
        time.sleep(AFTER_TAKEOVER)
        rec.stop_load()
    timeline = rec.timeline
    where = _save(request, timeline, "recovery", title=f"{title}: {how}")
    seen = figures(timeline, fault="recovery", new_active=new.name)
    two, nobody, holders = rec.windows_with_two_holders(after=at), _no_holder(timeline, at), vip_holders(lab)
    winner = holders[0] if converged is not None and len(holders) == 1 else None
    who = "nobody settled" if winner is None else (f"{winner} (the faulted node took it back)"
                                                   if winner == old.name else f"{winner} (it kept its role)")
    tutorial.figure("faults", f"{title}: after {how}, no balancer held the VIP", f"{nobody:.1f} s")
    tutorial.figure("faults", f"{title}: after {how}, both listed the VIP", _windows(two, at))
    tutorial.figure("faults", f"{title}: after {how}, the VIP ended on", who)
    tutorial.figure("faults", f"{title}: after {how}, client-visible gap", f"{seen.longest_gap:.2f} s")
    tutorial.figure("faults", f"{title}: after {how}, requests failed", f"{seen.failed} of {seen.requests}")
    _afterwards(tutorial, f"{how}: two holders {_windows(two, at)}; no holder for {nobody:.1f} s; then {who}"
                          + ("" if converged is None else f", settled {converged:.1f} s after it")
                          + f"; gap {seen.longest_gap:.2f} s, {seen.failed} of {seen.requests} failed")
    if no_holder:
        tutorial.record("faults", f"FINDING, {title}: after {how} nobody holds the VIP for a while, then one "
                                  "balancer takes it", f"{old.name}, {new.name}",
                        f"ip addr sh {lab.cluster.interface} (sampled every 0.5 s); ha-log",
                        f"a window with no VIP holder: {no_holder}",
                        f"no holder for {nobody:.1f} s; two holders {_windows(two, at)}; then {who}\ntimeline: {where}",
                        "PASS" if nobody >= 1.0 else "FAIL")
    tutorial.record("faults", f"{title}: after {how}, one active and its standby again", f"{old.name}, {new.name}",
                    f"ip addr sh {lab.cluster.interface}; cl_status",
                    f"one VIP holder that its peer sees active, settled for {SETTLED:.0f} s, within "
                    f"{SPLIT_CONVERGE:.0f} s", (_unsettled(timeline) if converged is None else
                    f"after {converged:.1f} s: {who}; no holder for {nobody:.1f} s; two holders {_windows(two, at)}")
                    + f"\nheartbeat said: {_said(said)}\ntimeline: {where}", "PASS" if converged is not None else "FAIL")
    assert not no_holder or nobody >= 1.0, f"expected (a finding of earlier runs) a window with no VIP holder after " \
                                           f"{how}; holders after it: {sorted({s.holders for s in timeline.holders if s.t >= at})}"
    if converged is None:
        not_settled(lab, said, what=f"{SPLIT_CONVERGE:.0f} s after {how} the pair had not settled (VIP held by "
                                    f"{holders}; {_unsettled(timeline)})")


def test_active_node_crashed(request, tutorial, lab, faults, timers):
    # A power cut (Lab.crash): the node leaves the LAN at once and loses what RAM held (VIP, IPVS
    # table); powered on again its rc links start heartbeat, which must join as the standby.
    title = "the active node crashed (power cut)"
    old, new, fault, _, _ = _outage(request, tutorial, lab, faults, timers, title=title, make_fault=faults.crash)
    _recovery(request, tutorial, lab, faults, fault, old, new, title=title,
              how=f"{old.name} powered on again (its rc links start heartbeat)")


def test_active_node_crashed_with_the_tutorial_s_own_timing(request, tutorial, lab, faults, provisioner):
    """The crash again with the tutorial's ha.cf exactly: it sets no timer, so heartbeat's own
    defaults apply (HEARTBEAT_DEFAULTS: keepalive 1 s, deadtime 30 s, against the lab's 1 s and
    10 s from cluster.json: the other crash test). Both balancers get that ha.cf and are started
    again (a heartbeat announces its deadtime to its peers, who use it: earlier runs that
    restarted only the standby saw the crash detected after the active's 10 s). Afterwards both get
    the lab's ha.cf back and are started again. Both restarts are HARNESS STEPs in the report."""
    untimed = {f"LAB_HB_{key.upper()}": "" for key in TIMERS}
    balancers = [lab.node(n.name) for n in lab.cluster.balancers]
    try:
        provisioner.run_on(balancers, "ch4-heartbeat.sh", settings=untimed)
        running = restart_pair(tutorial, lab, "faults", "the tutorial's ha.cf (no timer)", "ch4-heartbeat.sh")
        assert all(seen == HEARTBEAT_DEFAULTS for seen in running.values()), \
            f"with no timer in ha.cf heartbeat should run its defaults {HEARTBEAT_DEFAULTS}: {running}"
        title = "the active node crashed (power cut), the tutorial's timing (heartbeat's defaults)"
        old, new, fault, _, _ = _outage(request, tutorial, lab, faults, dict(HEARTBEAT_DEFAULTS), title=title,
                                        make_fault=faults.crash)
        _recovery(request, tutorial, lab, faults, fault, old, new, title=title,
                  how=f"{old.name} powered on again (its rc links start heartbeat)")
    finally:
        left = faults.heal_all()
        if left:  # a node that did not come back cannot be given its ha.cf: say so
            raise LabError("the crashed balancer did not come back:\n" + "\n".join(left), "lvslab down; lvslab up")
        provisioner.run_on(balancers, "ch4-heartbeat.sh")
        restart_pair(tutorial, lab, "faults", "the lab's ha.cf (cluster.json's timers)", "ch4-heartbeat.sh")


# A real server's failure: ldirectord on the active connects to each real server every
# checkinterval and gives up after checktimeout; with quiescent=yes it then sets the server's
# weight to 0 (no new connections) and back to 1 once a check succeeds again. Under TCG one check
# round of ldirectord (a Perl process) can take several seconds: RS_MARGIN.
RS_MARGIN = 20.0


def _weight(node, service: str, real: str) -> int | None:
    table = ipvs_table(node).service(service)
    found = [r.weight for r in table.reals if r.address == real] if table else []
    return found[0] if found else None


@CHAPTERS_LANE
def test_real_server_crashed_is_quiesced_then_returns(request, tutorial, lab, faults):
    cluster = lab.cluster
    holders = vip_holders(lab)
    assert len(holders) == 1, f"a fault test starts from one active balancer; the VIP is held by {holders}"
    wait_for_real_servers(lab)
    active = lab.node(holders[0])
    victim = cluster.realservers[0].name
    service, real = f"{cluster.vip}:{cluster.service.port}", cluster.real_server(victim)
    bound = cluster.service.checkinterval + cluster.service.checktimeout + RS_MARGIN
    title = f"real server {victim} crashed (power cut)"

    def weight_is(want):
        def probe():
            weight = _weight(active, service, real)
            return (weight == 0) if want == 0 else (weight is not None and weight > 0), weight
        return probe

    with Recorder(lab, duration=BASELINE + 2 * bound + 300, rate=RATE) as rec:
        time.sleep(BASELINE)
        fault = faults.crash(victim)
        rec.timeline.events.append(Event(fault.at, "fault", victim))
        rec.timeline.notes.update(fault=fault.describe(), bound=bound)
        quiesced = None
        if poll_until(weight_is(0), timeout=bound + 30, interval=1)[0]:
            quiesced = rec.mark(f"{real} weight 0", active.name).t - fault.at
        time.sleep(6)
        at = faults.heal(fault)
        rec.timeline.events.append(Event(at, "recovery", victim))
        booted = rec.mark(f"{victim} booted", victim).t
        back = None
        if poll_until(weight_is(1), timeout=bound + 30, interval=1)[0]:
            back = rec.mark(f"{real} weight 1", active.name).t - booted
        time.sleep(6)
        rec.stop_load()
    timeline = rec.timeline
    where = _save(request, timeline, "realserver", title=f"{title}, then powered on")
    seen = figures(timeline, fault="fault", new_active=active.name)
    quiet_from = fault.at + (quiesced if quiesced is not None else bound) + 1.0
    late = [r for r in timeline.requests if quiet_from <= r.start < at and not r.ok]
    returned = [r for r in timeline.requests if back is not None and r.start > booted + back + 1 and r.server == victim]
    tutorial.fault_row(fault=title, detection="never" if quiesced is None else f"weight 0 after {quiesced:.1f} s",
                       takeover=f"bound {bound:.0f} s (checkinterval + checktimeout + {RS_MARGIN:.0f} s)",
                       **{"client-visible gap": f"{seen.longest_gap:.2f} s",
                          "requests failed": f"{seen.failed} of {seen.requests} ({len(late)} after weight 0)",
                          "two VIP holders": "-",
                          "afterwards": "never back" if back is None else
                          f"booted; weight 1 after {back:.1f} s; {len(returned)} answers from {victim}"})
    tutorial.record("faults", f"{title}: ldirectord quiesces it within checkinterval + checktimeout", active.name,
                    "ipvsadm -L -n (every second)", f"weight 0 for {real} within {bound:.0f} s; no request "
                    f"fails from 1 s after that while {victim} is down",
                    f"weight 0 {'never' if quiesced is None else f'after {quiesced:.1f} s'}; {len(late)} failed "
                    f"after it; {seen.describe()}\ntimeline: {where}",
                    "PASS" if quiesced is not None and quiesced <= bound and not late else "FAIL")
    tutorial.record("faults", f"{title}: powered on again, it returns to service", active.name,
                    "ipvsadm -L -n (every second)", f"weight 1 for {real} within {bound:.0f} s of the boot; "
                    f"{victim} answers clients again",
                    f"{'never' if back is None else f'after {back:.1f} s'}; {len(returned)} answers from {victim} after it",
                    "PASS" if back is not None and back <= bound and returned else "FAIL")
    assert quiesced is not None and quiesced <= bound, \
        f"{real} should have weight 0 on {active.name} within {bound:.0f} s of the crash: " \
        f"{'never' if quiesced is None else f'{quiesced:.1f} s'}"
    assert back is not None and back <= bound and returned, \
        f"{victim} should be back in service within {bound:.0f} s of its boot: weight back " \
        f"{'never' if back is None else f'after {back:.1f} s'}, {len(returned)} answers from it"
    if late:  # the one check not yet explained: reported as an expected failure, never as a pass
        pytest.xfail(f"FINDING, unexplained (first seen 2026-11-27 12:12, 11 requests): {len(late)} requests failed "
                     f"after {real} had weight 0 (at {[round(r.start - fault.at, 1) for r in late][:12]} s after the "
                     f"crash; weight 0 at {quiesced:.1f} s); ldirectord's log shows no flapping")


# After a cut link, a partition or a bad LAN heartbeat must bring the pair back to one active and its standby.
SPLIT_CONVERGE = 180.0   # after healing, one active and its standby, settled, within this (both restart first; settled runs took 10-91 s)


def _unsettled(timeline) -> str:
    """What the settle wait last saw, when it timed out."""
    return f"never; last seen: {timeline.notes.get('not settled', '?')}"


def _log_mark(lab) -> dict[str, list[int] | None]:
    """Where each balancer's stack logs are now (Lab.log_sizes), to read what they say after."""
    logs = stack_of(lab.cluster).logs
    return {n.name: lab.log_sizes(n.name, logs) for n in lab.cluster.balancers}


def _logs_since(lab, marks: dict[str, list[int] | None]) -> dict[str, str]:
    """What each balancer's stack logged since `marks` (_log_mark)."""
    logs = stack_of(lab.cluster).logs
    return {name: lab.logs_since(name, logs, sizes) for name, sizes in marks.items() if sizes is not None}


def _said_since(lab, marks: dict[str, list[int] | None]) -> dict[str, list[str]]:
    """What each balancer's stack logged since `marks` about how the heal went (heal_story)."""
    return {name: heal_story(text) for name, text in _logs_since(lab, marks).items()}


def _heal_and_settle(rec, lab, faults, fault, *, who: str, timeout: float = SPLIT_CONVERGE
                     ) -> tuple[float, float | None, dict[str, list[str]]]:
    """Undo `fault` (the heal) and watch the pair settle (_one_holder_again, within `timeout`):
    (when it was healed, seconds until settled or None, what heartbeat said meanwhile)."""
    marks = _log_mark(lab)
    at = faults.heal(fault)
    rec.timeline.events.append(Event(at, "recovery", who))
    converged = _one_holder_again(rec, lab, after=at, timeout=timeout)
    said = _said_since(lab, marks)
    rec.timeline.notes["heartbeat said"] = said
    return at, converged, said


def _stack_roles(lab) -> dict[str, str]:
    """Each balancer's role as its own stack says it now (ACTIVE, STANDBY, DOWN, UNSETTLED)."""
    return {name: view.role for name, view in balancer_views(lab).items()}


def _said(said: dict[str, list[str]], last: int = 8) -> str:
    return "; ".join(f"{name}: " + (" | ".join(lines[-last:]) or "nothing") for name, lines in said.items())


def not_settled(lab, said: dict[str, list[str]], *, what: str, during: dict[str, str] | None = None) -> None:
    """A pair that did not settle after a heal (a thaw, a plugged cable, a healed partition, a
    clean LAN). Where heartbeat's own words show the race (TAKEOVER_RACE in a balancer's ha-log
    since the heal) or a balancer's resources are still "in transition" (known_race), that is the
    FINDING of slow runs (an expected failure, with the evidence); anything else fails the test.

    What a slow run's ha-logs showed (2026-12-04, three one-vCPU microVMs on two cores, one
    ldirectord start-up 75-95 s): healed, both heartbeats restart ("returning after partition").
    loadb2 gives its resources up and sends T_SHUTDONE; loadb1, restarted first, takes everything
    ("Received shutdown notice", "acquire all HA resources (standby)"), and loadb2's restart lands
    in that takeover ("WARN: T_STARTING received during takeover", hb_resource.c's
    process_resources() then marks the peer unstable). loadb1 lists the VIP, "mach_down takeover
    complete", and then runs ResourceManager's takegroup again for each queued "ip-request-resp",
    one after the other (StartNextRemoteRscReq), each a status of the whole group with
    ldirectord's Perl: 40 s apiece there. hb_rsc_isstable() is false while any such child runs,
    so cl_status rscstatus says "transition" all along: the pair converges as slowly as the
    emulation runs Perl, past SPLIT_CONVERGE. Seen in 3 of 3 cut links and
    2 of 2 partitions in that run; the quick runs (two vCPUs alone) settled in 30-60 s.

    `during`, each balancer's log since the fault began: where it shows heartbeat's late-heartbeat
    split (lasting_split) and both balancers still hold the VIP as active, that is the other
    finding, the split heartbeat never heals (made on purpose, and asserted, by
    test_a_stalled_standby_s_late_heartbeat_splits_the_pair_for_good): an expected failure too."""
    views = _stack_roles(lab)
    evidence = f"{what}; roles now {views}; heartbeat said since the heal: {_said(said)}"
    lasting = lasting_split(during) if during else []
    if lasting and len(vip_holders(lab)) == 2 and set(views.values()) == {ACTIVE}:
        pytest.xfail(f"FINDING, intermittent: the split heartbeat never heals (a heartbeat late past deadtime "
                     f"before its timeout poll): {evidence}. Its log since the fault: {lasting}")
    if why := known_race(said, views, unsettled=UNSETTLED):
        pytest.xfail(f"FINDING, intermittent (slow runs): {evidence}. The known race: {why[:3]}")
    raise AssertionError(f"the pair did not settle, and not by the known race: {evidence}")


def _one_holder_again(rec, lab, *, after: float, timeout: float) -> float | None:
    """Seconds from `after` to the start of the settled state, None if not within timeout. Settled:
    one VIP holder that its stack calls active, the other balancer's stack running and seeing it
    as its standby, and the same holder in every sample for SETTLED s. One holder alone is not
    enough: after a partition both heartbeats restart and give their resources up, one after the
    other, tens of seconds after the pair saw itself whole again (the link cut's finding). The
    pair's part is live_pair's."""

    def probe():
        now = time.time()
        recent = [s.holders for s in rec.timeline.holders if s.t >= max(after, now - SETTLED)]
        if now - after < SETTLED or len(set(recent)) != 1 or len(recent[0]) != 1:
            return False, recent[-1:]
        holder, seen = live_pair(lab)
        return holder is not None, seen

    try:
        wait_until(probe, timeout=timeout + SETTLED, interval=2, what=f"one active and its standby, settled for {SETTLED:.0f} s")
    except AssertionError as failure:  # what it last saw goes into the report (_unsettled)
        rec.timeline.notes["not settled"] = str(failure)
        rec.mark("not settled")
        return None
    holder = rec.timeline.holders[-1].holders
    run_start = rec.timeline.holders[-1].t
    for sample in reversed([s for s in rec.timeline.holders if s.t >= after]):
        if sample.holders != holder:
            break
        run_start = sample.t
    rec.timeline.events.append(Event(run_start, "one VIP holder", holder[0]))
    return run_start - after


# A partition and a bad LAN: after either, heartbeat must bring the pair back to one VIP holder.
SPLIT_OBSERVE = 10.0     # seconds of split brain watched before the partition heals
# Partitioned, the standby takes the VIP after deadtime plus haresources' scripts: 78-98 s in runs
# on two vCPUs, 142.6 s in a one-vCPU CI lane (2026-11-28; up to 87 s in the other faults there);
# watched for up to deadtime + SPLIT_TAKEOVER (the wait ends when it does).
SPLIT_TAKEOVER = 300.0


@TWO_HOLDERS
def test_balancers_partitioned_from_each_other(request, tutorial, lab, faults, timers):
    active, standby = request.getfixturevalue("roles")
    cluster = lab.cluster
    client = lab.node(cluster.by_role("client")[0].name)
    macs = _macs(lab, active.name, standby.name)
    bound = timers["deadtime"] + SPLIT_TAKEOVER
    title = "the balancers partitioned from each other (clients and real servers reach both)"
    with Recorder(lab, duration=BASELINE + bound + SPLIT_OBSERVE + SPLIT_CONVERGE + 40, rate=RATE) as rec:
        time.sleep(BASELINE)
        request.node.faulted = active.name
        fault = faults.partition([active.name, standby.name])
        rec.timeline.events.append(Event(fault.at, "fault", fault.node))
        rec.timeline.notes.update(fault=fault.describe(), timers=timers)
        poll_until(lambda: (standby.name in rec.holders_now(), rec.holders_now()), timeout=bound + 5, interval=0.5)
        # healed only once each side's takeover is over (takeover_completed: a heal mid-takeover is another race)
        complete = {n.name: takeover_completed(rec, lab, n, peer, timeout=bound)
                    for n, peer in ((standby, active), (active, standby))} if standby.name in rec.holders_now() else {}
        time.sleep(SPLIT_OBSERVE)
        split_holders = rec.holders_now()
        sync = {n.name: n.run(["ipvsadm", "-L", "--daemon"]).stdout.strip() or "(none)" for n in (active, standby)}
        neigh = client.run(["ip", "neigh", "show", cluster.vip]).stdout.strip()
        sent_to = _arp_owner(neigh, macs)
        at, converged, said = _heal_and_settle(rec, lab, faults, fault, who=fault.node)
        time.sleep(AFTER_TAKEOVER)
        rec.stop_load()
    timeline = rec.timeline
    where = _save(request, timeline, "partition", title=title)
    seen = figures(timeline, fault="fault", new_active=standby.name)
    two = rec.windows_with_two_holders(after=fault.at)
    split = [r for r in timeline.requests if fault.at + (seen.takeover or 0) <= r.start < at]
    answered = {s: sum(r.ok and r.server == s for r in split) for s in sorted({r.server for r in split if r.server})}
    length = sum(e - b for b, e, _ in two)
    tutorial.fault_row(fault=title, detection=f"{standby.name} took the VIP" if seen.takeover is not None else "-",
                       takeover="never" if seen.takeover is None else f"{seen.takeover:.1f} s",
                       **{"client-visible gap": f"{seen.longest_gap:.2f} s",
                          "requests failed": f"{seen.failed} of {seen.requests}",
                          "two VIP holders": f"{length:.1f} s: {_windows(two, fault.at)}",
                          "afterwards": "never one holder" if converged is None
                          else f"one holder {converged:.1f} s after healing: {rec.holders_now()}"})
    tutorial.figure("faults", "split brain: VIP holders while partitioned", ", ".join(split_holders) or "none")
    tutorial.figure("faults", f"split brain: each side's takeover complete ({_STATUS_WORD}) before healing",
                    "; ".join(f"{n}: {'never' if t is None else f'{t - fault.at:.1f} s after the partition'}"
                              for n, t in complete.items()) or "the standby never listed the VIP")
    tutorial.figure("faults", "split brain: how long both listed the VIP", f"{length:.1f} s")
    tutorial.figure("faults", "split brain: the client's ARP entry for the VIP", f"{neigh} ({sent_to})")
    tutorial.figure("faults", "split brain: what clients got while split",
                    f"{sum(r.ok for r in split)} of {len(split)} answered, by {answered}")
    tutorial.figure("faults", "split brain: sync daemons while split", "; ".join(f"{n}: {v}" for n, v in sync.items()))
    tutorial.figure("faults", "split brain: after healing, no balancer held the VIP", f"{_no_holder(timeline, at):.1f} s")
    both = sorted((active.name, standby.name))
    tutorial.record("faults", "FINDING, partition: each balancer takes the VIP (split brain: the tutorial's "
                              "heartbeat has no quorum and no fencing)", ", ".join(both),
                    f"ip addr sh {cluster.interface} (sampled every 0.5 s)",
                    f"both list {cluster.vip} within {bound:.0f} s of the partition",
                    f"holders while split {split_holders}; {seen.describe()}\ntimeline: {where}",
                    "PASS" if sorted(split_holders) == both else "FAIL")
    tutorial.record("faults", "partition healed: one active and its standby again", ", ".join(both),
                    f"ip addr sh {cluster.interface} (sampled every 0.5 s); cl_status",
                    f"one VIP holder that its peer sees active, settled for {SETTLED:.0f} s, within "
                    f"{SPLIT_CONVERGE:.0f} s of healing",
                    (_unsettled(timeline) if converged is None else f"after {converged:.1f} s: {rec.holders_now()}")
                    + f"\nheartbeat said: {_said(said)}", "PASS" if converged is not None else "FAIL")
    assert sorted(split_holders) == both, \
        f"partitioned, each balancer should declare the other dead and hold the VIP; holders: {split_holders}"
    if converged is None:
        not_settled(lab, said, what=f"{SPLIT_CONVERGE:.0f} s after the partition healed the VIP is held by "
                                    f"{vip_holders(lab)} ({_unsettled(timeline)})")


# A heartbeat late past deadtime, handled before heartbeat's timeout poll ran: lab/checks/heartbeat.py
# (lasting_split) tells the mechanism. Made on purpose: the standby stops hearing the active, then
# its heartbeat stalls (master control process stopped, its read children still queueing what
# arrives), and it hears the LAN again while stalled. Its peer's gap must stay under deadtime (the
# active never sees it dead); its own must pass deadtime. With keepalive K and deadtime D:
STALL_AT = 0.5          # × D after it went deaf, the standby's heartbeat stalls
HEAR_AFTER = 2.0        # × K after the stall, it hears the LAN again
RESUME_AFTER = 2.0      # × K past D since it went deaf, its heartbeat runs on: its gap D + 2K, its peer's D/2 + 2K
LASTING = 60.0          # after the standby's takeover, both still hold the VIP this long with no heal logged


def _stall_past_deadtime(faults, standby, timers) -> tuple[float, float]:
    """The standby's heartbeat handles its peer's next heartbeat D + 2K after the last one it
    heard, its own heartbeats missing for about D/2 + 2K meanwhile; (when it went deaf, when its
    heartbeat ran on). The steps are node commands (1 s each under TCG): the margins are K-sized."""
    keepalive, deadtime = timers["keepalive"], timers["deadtime"]
    deaf = faults.deafen(standby.name)
    # counted from when the deafen command returned, not began: it is surely in place then (on a
    # slow run of 2026-12-06 it took ~2 s, and the late interval came to 9830 ms, under deadtime)
    deaf_by = time.time()
    time.sleep(max(0.0, deaf_by + STALL_AT * deadtime - time.time()))
    stalled = faults.stall(standby.name, "heartbeat")
    time.sleep(max(0.0, stalled.at + HEAR_AFTER * keepalive - time.time()))
    faults.heal(deaf)
    time.sleep(max(0.0, deaf_by + deadtime + RESUME_AFTER * keepalive - time.time()))
    return deaf.at, faults.heal(stalled)


@TWO_HOLDERS
def test_a_stalled_standby_s_late_heartbeat_splits_the_pair_for_good(request, tutorial, lab, faults, timers):
    """FINDING (first seen in the lossy LAN, 2026-12-04): heartbeat 3.0.6 never heals a split made
    by a heartbeat that comes in late past deadtime before its timeout poll ran. The standby
    declares the active dead and, from that same packet, alive again (no "returning after
    partition" on either side), takes the resources over, and then both hold them: nobody
    restarts, the active only logs "Both machines own our resources!". Asserted as it happens."""
    active, standby = request.getfixturevalue("roles")
    cluster = lab.cluster
    client = lab.node(cluster.by_role("client")[0].name)
    macs = _macs(lab, active.name, standby.name)
    # How long the standby is watched for its takeover: not takeover_bound (this test states no
    # takeover bound; the time is a figure). This takeover is slower than a dead peer's: 152.3 s
    # after its heartbeat ran on in the CI of 2026-12-07 (b4cfd85), and past takeover_bound's
    # measured bound in the next CI (dddfc00), whose test then failed: loadb1 had not listed the VIP
    # when that wait ended (the saved evidence did not reach us: a slow takeover is the likely
    # reading, not a proven one). So it gets a partition's wait, the other takeover made with a
    # live peer beside it; an assertion below still fails if it never comes.
    bound = timers["deadtime"] + SPLIT_TAKEOVER
    title = "the standby stalled past deadtime (a late heartbeat)"
    marks = _log_mark(lab)
    with Recorder(lab, duration=BASELINE + timers["deadtime"] * 2 + bound + LASTING + 20, rate=RATE) as rec:
        time.sleep(BASELINE)
        request.node.faulted = standby.name  # the node an operator restarts (one_active_afterwards)
        deaf_at, resumed = _stall_past_deadtime(faults, standby, timers)
        rec.timeline.events.append(Event(deaf_at, "fault", standby.name))
        rec.timeline.events.append(Event(resumed, "recovery", standby.name))
        rec.timeline.notes.update(fault=f"{standby.name} deaf, its heartbeat stalled, deaf no more, run on", timers=timers)
        listed, _ = poll_until(lambda: (standby.name in rec.holders_now(), rec.holders_now()), timeout=bound + 5,
                               interval=0.5)
        complete = takeover_completed(rec, lab, standby, active, timeout=bound) if listed else None
        watched = time.time()
        if complete is not None:
            time.sleep(LASTING)
        neigh = client.run(["ip", "neigh", "show", cluster.vip]).stdout.strip()
        rec.stop_load()
    during = _logs_since(lab, marks)
    timeline = rec.timeline
    where = _save(request, timeline, "late heartbeat", title=title)
    rejoins = silent_rejoins(during.get(standby.name, ""))
    declared = [line for line in during.get(active.name, "").splitlines() if f"node {standby.name}: is dead" in line]
    if not rejoins or declared:  # the fault did not land as designed: nothing to conclude about heartbeat
        raise LabError(f"the late heartbeat was not made: {standby.name} logged {rejoins or 'no late-heartbeat path'}, "
                       f"{active.name} declared it dead {declared or 'never'}",
                       f"timers {timers}; the steps' own times are on the timeline: {where}")
    both = tuple(sorted((active.name, standby.name)))
    lasting = [s for s in timeline.holders if s.t >= watched and not s.unknown]
    roles, why = _stack_roles(lab), lasting_split(during)
    seen = figures(timeline, fault="recovery", new_active=standby.name)
    tutorial.figure("faults", f"{title}: what {standby.name}'s heartbeat logged", " | ".join(rejoins[-1]))
    tutorial.figure("faults", f"{title}: {standby.name} lists the VIP",
                    "never" if seen.takeover is None else f"{seen.takeover:.1f} s after its heartbeat ran on")
    tutorial.figure("faults", f"{title}: VIP holders over the {LASTING:.0f} s after the takeover",
                    ", ".join(sorted({" + ".join(s.holders) for s in lasting})) or "(not watched)")
    tutorial.figure("faults", f"{title}: each stack's role at the end", ", ".join(f"{n}: {r}" for n, r in roles.items()))
    tutorial.figure("faults", f"{title}: the client's ARP entry for the VIP", f"{neigh or '(none)'} ({_arp_owner(neigh, macs)})")
    tutorial.figure("faults", f"{title}: requests failed", f"{seen.failed} of {seen.requests}")
    tutorial.fault_row(fault=title, detection=f"{standby.name}: late heartbeat, dead and alive at once",
                       takeover="never" if seen.takeover is None else f"{seen.takeover:.1f} s",
                       **{"client-visible gap": f"{seen.longest_gap:.2f} s",
                          "requests failed": f"{seen.failed} of {seen.requests}",
                          "two VIP holders": _windows(rec.windows_with_two_holders(after=deaf_at), deaf_at),
                          "afterwards": "both held the VIP to the end" if why else "healed"})
    held = bool(lasting) and all(s.holders == both for s in lasting)
    tutorial.record("faults", "FINDING: a heartbeat late past deadtime, before heartbeat's timeout poll, splits "
                              "the pair for good (heartbeat 3.0.6: no \"returning after partition\", nobody restarts)",
                    ", ".join(both), f"ip addr sh {cluster.interface} (sampled every 0.5 s); cl_status; ha-log",
                    f"{standby.name} takes the VIP over and both hold it for {LASTING:.0f} s, both stacks active, "
                    "no heal logged, heartbeat's complaint 'Both machines own our resources!'",
                    f"holders {sorted({s.holders for s in lasting})}; roles {roles}\nheartbeat said: "
                    + " | ".join(why or ["no lasting split"]) + f"\ntimeline: {where}",
                    "PASS" if held and why and set(roles.values()) == {ACTIVE} else "FAIL")
    assert listed, f"{standby.name} never listed the VIP within {bound + 5:.0f} s of its late heartbeat: holders " \
                   f"{rec.holders_now()}; roles {roles}; heartbeat said {why or rejoins}"
    assert complete is not None, f"{standby.name} never completed a takeover after its late heartbeat: " \
                                 f"{timeline.notes.get(f'{standby.name} takeover incomplete', rec.holders_now())}"
    assert held, f"both balancers should hold the VIP for {LASTING:.0f} s after the takeover; samples saw " \
                 f"{sorted({s.holders for s in lasting})}"
    assert set(roles.values()) == {ACTIVE}, f"both stacks should call themselves active: {roles}"
    assert why and any("Both machines own our resources" in line for line in why), \
        f"heartbeat should log no heal and complain of both owning the resources: {during}"


# The race of slow runs, made on purpose: chapter 7's failover in a hurry. The old active's
# heartbeat is started again as soon as its polite `heartbeat stop` returned, while the new
# active is still taking its resources over (ldirectord's Perl, tens of seconds under TCG): its
# T_STARTING lands in the takeover ("WARN: T_STARTING received during takeover", hb_resource.c's
# process_resources() marks the peer unstable). On a slow run of 2026-12-03 the new active then
# stayed "in transition" past 180 s and its `heartbeat stop` hung (README, findings); by hand in
# a lab of 2026-12-07 the same line came, and the pair settled 30 s later. So: the race must be
# made (heartbeat's own line), the new active must keep the VIP (auto_failback off) and the pair
# must settle to it and its standby within SPLIT_CONVERGE; how long it took is the figure, and a
# pair still "in transition" then is the known race's expected failure, with heartbeat's words.
@CHAPTERS_LANE
def test_heartbeat_started_again_on_the_old_active_while_the_new_one_takes_over(request, tutorial, lab, timers):
    active, standby = request.getfixturevalue("roles")
    stack, cluster = stack_of(lab.cluster), lab.cluster
    title = "heartbeat started again on the old active while the new one takes over"
    how = f"/etc/init.d/heartbeat stop on {active.name}, then start as soon as it returned"
    marks = _log_mark(lab)
    with Recorder(lab, duration=LOAD_CAP, rate=RATE) as rec:
        time.sleep(BASELINE)
        request.node.faulted = active.name
        rec.timeline.events.append(Event(time.time(), "fault", active.name))
        rec.timeline.notes.update(fault=how, timers=timers)
        stack.stop(active)
        rec.mark(f"heartbeat stop returned on {active.name}", active.name)
        during = stack.read(standby, cluster.node(active.name))
        stack.start(active)
        restarted = rec.mark(f"heartbeat started on {active.name}", active.name).t
        rec.timeline.events.append(Event(restarted, "recovery", active.name))  # the plot's window: stop to start
        settled = _one_holder_again(rec, lab, after=restarted, timeout=SPLIT_CONVERGE)
        time.sleep(AFTER_TAKEOVER)
        rec.stop_load()
    timeline = rec.timeline
    said = _said_since(lab, marks)
    timeline.notes["heartbeat said"] = said
    raced = [line for line in said.get(standby.name, []) if TAKEOVER_RACE in line]
    where = _save(request, timeline, "race", title=f"{title}: {how}")
    seen = figures(timeline, fault="fault", new_active=standby.name)
    holder = next((e.node for e in timeline.events if e.name == "one VIP holder"), None)
    tutorial.record("faults", f"{title}: the race is made", standby.name,
                    f"{how}; cl_status rscstatus on {standby.name} in between; grep '{TAKEOVER_RACE}' /var/log/ha-log",
                    f"{standby.name} in transition when {active.name}'s heartbeat starts, and its heartbeat says "
                    f"'{TAKEOVER_RACE}'", f"{standby.name}'s own view then: {during.role} ({' / '.join(during.said.splitlines())})"
                    f"\nits race lines: {raced or 'none'}", "PASS" if raced else "FAIL")
    tutorial.figure("faults", f"{title}: client-visible gap", f"{seen.longest_gap:.2f} s")
    tutorial.figure("faults", f"{title}: requests failed", f"{seen.failed} of {seen.requests}")
    tutorial.figure("faults", f"{title}: one VIP holder for good (then one active and its live standby)",
                    "not within the bound" if settled is None else f"from {settled:.0f} s after the start (bound {SPLIT_CONVERGE:.0f} s)")
    tutorial.fault_row(fault=f"{title} ({active.name})", detection="(a polite stop: its shutdown notice)",
                       takeover="never" if seen.takeover is None else f"{seen.takeover:.1f} s",
                       **{"client-visible gap": f"{seen.longest_gap:.2f} s",
                          "requests failed": f"{seen.failed} of {seen.requests}", "two VIP holders":
                          _windows(rec.windows_with_two_holders(after=restarted), restarted),
                          "afterwards": _unsettled(timeline) if settled is None else
                          f"settled {settled:.0f} s after the start, {holder} active"})
    if not raced:
        raise LabError(f"the race was not made: {standby.name}'s heartbeat never said '{TAKEOVER_RACE}' "
                       f"({standby.name}'s own view when {active.name}'s heartbeat started: {during.role}); "
                       f"heartbeat said: {_said(said)}",
                       "a takeover quicker than heartbeat's start (not seen under TCG): nothing to race")
    tutorial.record("faults", f"{title}: the new active keeps the VIP and the pair settles", f"{active.name}, {standby.name}",
                    "ip addr sh (sampled every 0.5 s); cl_status (both)",
                    f"{standby.name} alone active, {active.name} its live standby, within {SPLIT_CONVERGE:.0f} s",
                    (_unsettled(timeline) if settled is None else f"{holder} from {settled:.0f} s after the start")
                    + f"\ntimeline: {where}", "PASS" if settled is not None and holder == standby.name else "FAIL")
    if settled is None:
        not_settled(lab, said, what=f"{_unsettled(timeline)}, {SPLIT_CONVERGE:.0f} s after {how}")
    assert holder == standby.name, f"auto_failback is off: {standby.name} should keep the VIP, but {holder} holds it"


# A lossy LAN: heartbeat declares its peer dead after `deadtime` with no heartbeat heard, i.e.
# deadtime/keepalive (10) heartbeats lost in a row. At SAFE_LOSS that happens with probability
# 0.3^10 (6e-6) per heartbeat: the VIP must not move. Above it the steps find where it does.
LAN_STEPS = (["delay", "200ms", "50ms"], ["loss", "30%"], ["loss", "70%"], ["loss", "85%"], ["loss", "95%"])
SAFE_LOSS = 30
LAN_STEP = 20.0  # two deadtimes: each step is watched this long (a longer watch finds a lower threshold)


LAN_CALM = 240.0  # after the step that moved the VIP, its netem stays until no stack is in transition, at most this


def _stacks_calm(rec, lab, *, timeout: float) -> float | None:
    """When neither balancer's stack was in transition (heartbeat: rscstatus other than
    "transition", a takeover or a give-up under way), as a time; None if not within timeout."""

    def probe() -> tuple[bool, dict[str, str]]:
        roles = _stack_roles(lab)
        return UNSETTLED not in roles.values(), roles

    try:
        wait_until(probe, timeout=timeout, interval=2, what="no balancer's stack in transition")
    except AssertionError as failure:
        rec.timeline.notes["stacks never calm"] = str(failure)
        rec.mark("stacks not calm")
        return None
    return rec.mark("stacks calm").t


@TWO_HOLDERS
def test_lossy_and_slow_lan_flap_threshold(request, tutorial, lab, faults, timers):
    active, standby = request.getfixturevalue("roles")
    title = "a lossy, then slow LAN (netem on every switch port), stepped up until the VIP moves"
    steps: list[tuple[str, bool, str]] = []
    with Recorder(lab, duration=BASELINE + LAN_STEP * len(LAN_STEPS) + SPLIT_CONVERGE + MARGIN, rate=10) as rec:
        time.sleep(BASELINE)
        request.node.faulted = active.name
        first, calm, said, marks = None, None, {}, _log_mark(lab)
        for netem in LAN_STEPS:
            fault = faults.degrade_lan(netem)
            first = first or fault
            rec.timeline.events.append(Event(fault.at, "fault" if fault is first else " ".join(netem), "lan"))
            time.sleep(LAN_STEP)
            step_end = time.time()
            samples = [s for s in rec.timeline.holders if fault.at <= s.t <= step_end and not s.unknown]
            dead = declared_dead(standby, active.name, since=fault.at)
            moved = any(s.holders != (active.name,) for s in samples) or dead is not None
            steps.append((" ".join(netem), moved, f"holders {sorted({s.holders for s in samples})}; "
                          f"{standby.name} declared {active.name} dead: {'no' if dead is None else f'{dead - fault.at:.0f} s in'}"))
            if moved:  # the LAN is cleaned only once no stack is mid-takeover (takeover_completed says why)
                calm = _stacks_calm(rec, lab, timeout=LAN_CALM)
                _, converged, said = _heal_and_settle(rec, lab, faults, fault, who="lan",
                                                      timeout=SPLIT_CONVERGE + MARGIN)
                break
            end = faults.heal(fault)
        else:  # the VIP never moved: nothing to settle
            rec.timeline.events.append(Event(end, "recovery", "lan"))
            rec.timeline.notes["heartbeat said"] = said
            converged = 0.0
        rec.stop_load()
    timeline = rec.timeline
    where = _save(request, timeline, "lan", title=title)
    threshold = next((name for name, moved, _ in steps if moved), None)
    early = [(name, what) for name, moved, what in steps
             if moved and (name.startswith("delay") or int(name.split()[1].rstrip("%")) <= SAFE_LOSS)]
    per_step = []
    for name, moved, what in steps:
        at = timeline.event("fault").t if name == " ".join(LAN_STEPS[0]) else timeline.event(name).t
        reqs = [r for r in timeline.requests if at <= r.start < at + LAN_STEP]
        per_step.append(f"{name}: {sum(not r.ok for r in reqs)} of {len(reqs)} requests failed; "
                        f"{'VIP MOVED' if moved else 'VIP stayed'} ({what})")
    tutorial.figure("faults", "lossy LAN: loss at which the VIP first moves (flapping starts)",
                    threshold or f"none up to {LAN_STEPS[-1][1]}")
    for line in per_step:
        tutorial.figure("faults", f"lossy LAN step {line.split(':')[0]}", line.split(": ", 1)[1])
    if threshold:
        moving = timeline.event("fault").t if threshold == " ".join(LAN_STEPS[0]) else timeline.event(threshold).t
        tutorial.figure("faults", f"lossy LAN: {threshold} kept until no stack was in transition",
                        f"never within {LAN_CALM:.0f} s (cleaned anyway)" if calm is None
                        else f"{calm - moving:.1f} s after that step began")
    tutorial.fault_row(fault="lossy/slow LAN, stepped", detection=threshold or "no move",
                       takeover="-", **{"client-visible gap": f"{figures(timeline, fault='fault', new_active=standby.name).longest_gap:.2f} s",
                                        "requests failed": f"{sum(not r.ok for r in timeline.requests)} of {len(timeline.requests)}",
                                        "two VIP holders": _windows(rec.windows_with_two_holders(), timeline.event("fault").t),
                                        "afterwards": "one holder" if converged is not None else "never one holder"})
    tutorial.record("faults", f"a LAN with up to {SAFE_LOSS}% loss or 200 ms delay moves no VIP", active.name,
                    "tc qdisc ... netem (switch ports); ip addr sh (sampled); ha-log",
                    f"{active.name} alone holds the VIP through the delay and every loss step up to {SAFE_LOSS}% "
                    f"(deadtime/keepalive = {timers['deadtime'] / timers['keepalive']:.0f} heartbeats lost in a row)",
                    "\n".join(per_step) + f"\ntimeline: {where}", "FAIL" if early else "PASS")
    tutorial.record("faults", "after the bad LAN is clean again, one VIP holder", active.name,
                    "ip addr sh (sampled)", f"one VIP holder within {SPLIT_CONVERGE + MARGIN:.0f} s",
                    "not needed: the VIP never moved" if not threshold else
                    (_unsettled(timeline) if converged is None else f"after {converged:.1f} s: {rec.holders_now()}")
                    + f"\nheartbeat said: {_said(said)}", "PASS" if converged is not None else "FAIL")
    assert not early, f"the VIP moved on a LAN that should not make it: {early}"
    if converged is None:
        not_settled(lab, said, what=f"after the LAN was clean again the VIP is held by {vip_holders(lab)} "
                                    f"({_unsettled(timeline)})", during=_logs_since(lab, marks))


# A test that fails while its faults are in place must not leave them to the next test: the
# `faults` fixture undoes every one, newest first, whatever the test did. Shown, not assumed: the
# first test below breaks the lab five ways and fails on purpose (a strict xfail whose one expected
# failure is FailedOnPurpose: were no fault in place it would pass, a strict xfail that passes fails
# the run, and so does any other failure of it); the next one reads the lab
# from the kernel and checks it is whole and serving: no fault left, the same active, its standby
# live, both real servers answering. It starts from a lab checked whole (`roles`: a lab the tests
# before it left broken is their failure, not this one's). The balancer faults (the standby frozen,
# the pair partitioned) are made last, so they are undone first, and are meant to last less than
# deadtime, so that heartbeat should not react; how long they lasted is recorded, and where
# heartbeat did react (a slow run: CI of 2026-12-05 found no VIP holder right after), the next
# test waits for the pair to settle (BALANCER_SETTLE) and says what heartbeat said meanwhile.
IN_PLACE = pytest.StashKey[dict]()
NO_NETEM = pytest.StashKey[str]()
BALANCER_SETTLE = SPLIT_CONVERGE + MARGIN


class FailedOnPurpose(pytest.fail.Exception):
    """The one failure the test below is expected to have (its xfail's `raises`): pytest would
    count any AssertionError there as the expected failure, in its set-up (`roles`), while it makes
    the faults (a node command that failed) and in its teardown (a fault not undone) as well.

    A pytest.fail() outcome, raised with pytrace=False: pytest reports its message and formats no
    traceback. Formatting one took 6-11 s in the microVM (a lab run of 2026-12-07, profiled:
    inspect.getmodule's realpath over some 740 modules on the 9p-shared tree, and the AST of this
    file, twice), all of it before the `faults` fixture's teardown undoes anything: it stretched the
    balancer faults, meant to last well under deadtime, to 9-10 s, and heartbeat then reacted."""


@pytest.mark.xfail(strict=True, raises=FailedOnPurpose, reason="fails on purpose with five faults in place: the next test checks they were undone")
def test_a_test_that_fails_with_faults_in_place(request, lab, faults, roles):
    cluster = lab.cluster
    active, standby = roles  # its takeover over: heartbeat's words from here on are its reaction to these faults
    web1, web2 = (n.name for n in cluster.realservers)
    marks = _log_mark(lab)
    try:
        faults.degrade_lan(["delay", "5ms"])
    except LabError as missing:  # a host kernel without netem (Vagrant's taps are the host's): four faults
        request.config.stash[NO_NETEM] = str(missing)
    faults.crash(web1)
    faults.cut_link(web2)
    faults.freeze(standby.name)
    faults.partition([n.name for n in cluster.balancers])
    in_place = lab.faults_in_place()
    request.config.stash[IN_PLACE] = {"seen": in_place, "faults": faults, "active": active.name,
                                      "standby": standby.name, "marks": marks}
    if in_place:
        raise FailedOnPurpose(f"failing on purpose with these faults in place: {in_place}", pytrace=False)


def _balancer_faults_lasted(faults) -> float:
    """From the first balancer fault made (the freeze) to the last undone (the thaw): how long
    heartbeat could have noticed (Fault.at, Fault.healed_at)."""
    mine = [f for f in faults.healed + faults.active if f.kind in ("freeze", "partition")]
    return max(f.healed_at or time.time() for f in mine) - min(f.at for f in mine)


def test_after_a_test_failed_mid_fault_the_next_finds_the_lab_whole(request, tutorial, lab, timers):
    cluster = lab.cluster
    failed = request.config.stash.get(IN_PLACE, None)
    if failed is None:
        pytest.skip("shows what the failing test before it left: run the two together")
    before = failed["seen"]
    left = lab.faults_in_place()
    tutorial.record("faults", "a test that failed mid-fault left no fault behind", "(the provider)",
                    "Lab.faults_in_place(): process states, the switch's ports, isolation and qdiscs",
                    "nothing in place", f"while the failing test ran: {before}\nnow: {left or 'nothing'}"
                    + (f"\n(no netem on this lab: {request.config.stash[NO_NETEM]})" if NO_NETEM in request.config.stash else ""),
                    "PASS" if not left and before else "FAIL")
    assert before, "the failing test before this one should have seen its faults in place"
    assert not left, f"the faults fixture left these in place after a failing test: {left}"
    lasted = _balancer_faults_lasted(failed["faults"])
    # Heartbeat may see a gap one keepalive longer than the faults: the frozen standby's last
    # heartbeat before the freeze went out up to a keepalive earlier. Under deadtime by that much,
    # it must not react; closer than that, it may (lab runs of 2026-12-07: faults of 9.1 and 9.4 s,
    # deadtime 10 s, keepalive 1 s, "CRIT: Late heartbeat ... 10030 ms (> deadtime)").
    quiet = lasted + timers["keepalive"] < timers["deadtime"]
    tutorial.figure("faults", "a failing test's balancer faults (freeze, partition) lasted, made to undone",
                    f"{lasted:.1f} s (deadtime {timers['deadtime']:.0f} s)")
    active, standby = failed["active"], failed["standby"]

    def same_pair():
        holder, seen = live_pair(lab)
        return holder == active, seen

    settled, seen = poll_until(same_pair, timeout=BALANCER_SETTLE, interval=2)
    said = _said_since(lab, failed["marks"])
    tutorial.record("faults", "after the failing test the same active serves and its standby is live", active,
                    "ip addr sh; cl_status (live_pair); ha-log since the failing test began",
                    f"{active} alone holds the VIP, {standby} its live standby"
                    + ("" if quiet else f", within {BALANCER_SETTLE:.0f} s (the faults lasted past deadtime - keepalive)"),
                    f"{'settled' if settled else 'NOT settled'}: {seen}\nheartbeat said: {_said(said)}",
                    "PASS" if settled else "FAIL")
    assert settled, (f"after the failing test's faults ({lasted:.1f} s, deadtime {timers['deadtime']:.0f} s) "
                     f"{active} alone active with {standby} its standby was never seen within {BALANCER_SETTLE:.0f} s: "
                     f"{seen}; heartbeat said: {_said(said)}")
    if quiet:
        reacted = [f"{name}: {line}" for name, lines in said.items() for line in lines]
        assert not reacted, f"heartbeat reacted to faults that lasted {lasted:.1f} s, under deadtime " \
                            f"({timers['deadtime']:.0f} s) less a keepalive ({timers['keepalive']:.0f} s): {reacted}"
    wait_for_real_servers(lab)
    replies = [lab.http_get(f"http://{cluster.vip}/", timeout=5) for _ in range(4)]
    answered = {served_by(r.body) if r.ok else r.describe() for r in replies}
    assert answered == {n.name for n in cluster.realservers}, f"both real servers should answer through the VIP: {answered}"
