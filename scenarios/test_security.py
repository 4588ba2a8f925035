"""Security: what heartbeat's authentication (chapter 4's /etc/ha.d/authkeys) protects, and what not.

The tutorial: "somerandomstring is a password which the two heartbeat daemons on loadb1 and
loadb2 use to authenticate against each other ... /etc/ha.d/authkeys should be readable by root
only". Every heartbeat packet carries `auth=N digest`; a peer checks it with its own key N and
method (crc: a checksum and no key; md5 and sha1: an HMAC with the key) and drops what does not
match ("netstring authentication failed", after "Invalid authentication [N] in message!" for a key
number it does not have or "authtoken does not match" for a wrong key).

Here a rogue node joins the LAN (an extra namespace node, at ROGUE's address) and runs heartbeat
with the cluster's own ha.cf and haresources under the standby's name, the real standby powered
off first (a crash), so the only question is the key. authkeys is re-read by `heartbeat reload`
(SIGHUP) without a restart, so one rogue tries each case in turn against the active:

- the cluster's md5 with a wrong key; crc; sha1 with the right key: not heard (the active checks
  with its own method and key);
- the cluster switched to sha1, the rogue with a wrong sha1 key: not heard;
- the cluster switched to crc: the rogue, knowing no key, joins (crc authenticates nothing);
- the cluster's md5 and the right key: it joins as the standby, and `hb_takeover` makes the
  active give it the VIP (the key is the cluster's only defence: it must stay secret).

Afterwards the rogue is taken away and the standby powered on: the cluster must be back to one
active and a live standby. Only the netns provider can add a node (Lab.add_node).
"""

from __future__ import annotations

import time

import pytest

from lab.cluster import NodeSpec
from lab.readings import vip_holders
from lab.wait import poll_until, wait_until
from scenarios.steps import restart_pair

pytestmark = [pytest.mark.security, pytest.mark.usefixtures("chapter7_cluster")]

ROGUE = NodeSpec("rogue", "rogue", "192.168.0.110")
FILES = ("ha.cf", "haresources", "ldirectord.cf", "resource.d/LVSSyncDaemonSwap")
# Heartbeat's timers (cluster.json: deadtime 10 s, initdead 10 s) and haresources' scripts under
# TCG: a takeover took up to 60 s under load in the faults family.
TAKEOVER = 180.0
NOT_HEARD = 12.0   # a case the active must not hear is watched this long (deadtime + 2 heartbeats)
HEARD = 60.0       # a case the active must hear: it sees the rogue within this
# what heartbeat logs for a message it drops: "netstring authentication failed", after "Invalid
# authentication [N] in message!" (a key number it does not have) or "authtoken does not match"
REJECTED = "netstring authentication failed|authtoken does not match|Invalid authentication"


def test_authkeys_is_readable_by_root_only(tutorial, lab):
    def verify(result):
        assert result.stdout.split() == ["600", "root:root"], \
            f"authkeys should be mode 600 and root's (chmod 600 /etc/ha.d/authkeys): {result.stdout.strip()}"

    for spec in lab.cluster.balancers:
        tutorial.expect("security", "authkeys is readable by root only", lab.node(spec.name),
                        "stat -c '%a %U:%G' /etc/ha.d/authkeys", documented="600 root:root", verify=verify)


def _authkeys(method: str, key: str = "") -> str:
    """authkeys with one key: crc 1, sha1 2, md5 3 (the tutorial's is `auth 3` / `3 md5 KEY`)."""
    number = {"crc": 1, "sha1": 2, "md5": 3}[method]
    return f"auth {number}\n{number} {method}{' ' + key if key else ''}\n"


def _set_keys(node, text: str) -> None:
    node.put_file("/etc/ha.d/authkeys", text, mode="0600")
    node.succeed("/etc/init.d/heartbeat reload", timeout=120)


def _seen_by(active, name: str) -> str:
    return active.run(["cl_status", "nodestatus", name]).stdout.strip() or "(no answer)"


def _is(seen: str, want: str) -> tuple[bool, str]:
    """A probe's answer from one reading (read once: the status can change between two reads)."""
    return seen == want, seen


def _rejected(active) -> int:
    return int(active.run(f"grep -a -c -E '{REJECTED}' /var/log/ha-log").stdout.strip() or 0)


class Matrix:
    """One row per case: the active's authkeys, the rogue's, heard or not, the evidence."""

    def __init__(self, tutorial, active, standby: str) -> None:
        self.tutorial, self.active, self.standby, self.rows = tutorial, active, standby, []

    def not_heard(self, case: str, cluster_keys: str, rogue_keys: str) -> None:
        before, started, views = _rejected(self.active), time.monotonic(), []
        while time.monotonic() - started < NOT_HEARD:
            views.append(_seen_by(self.active, self.standby))
            time.sleep(2)
        dropped = _rejected(self.active) - before
        ok = set(views) == {"dead"} and dropped > 0
        self._row(case, cluster_keys, rogue_keys, "not heard",
                  f"{self.standby} seen as {sorted(set(views))} over {NOT_HEARD:.0f} s; {dropped} messages "
                  f"logged as rejected ({REJECTED})", ok)

    def heard(self, case: str, cluster_keys: str, rogue_keys: str) -> str:
        """Heard: the active calls the rogue `active` in two readings in a row (a node that starts
        goes init, up, active; a run of 2026-11-28 read "active" once, then "up")."""
        readings: list[str] = []

        def probe() -> tuple[bool, str]:
            readings.append(_seen_by(self.active, self.standby))
            return readings[-2:] == ["active", "active"], readings[-1]

        try:
            seen = wait_until(probe, timeout=HEARD, interval=2, what=f"{self.active.name} to hear the rogue as {self.standby}")
            ok, said = True, f"{self.standby} seen as {seen}"
        except AssertionError as failure:
            ok, said = False, str(failure)
        self._row(case, cluster_keys, rogue_keys, "heard: it joins as the standby", said, ok)
        return said

    def _row(self, case, cluster_keys, rogue_keys, want, got, ok) -> None:
        self.rows.append((case, ok, got))
        flat = lambda text: text.strip().replace("\n", " / ")
        self.tutorial.record("security", f"authentication, {case}: {want}", self.active.name,
                             f"cl_status nodestatus {self.standby}; grep -c -E '{REJECTED}' /var/log/ha-log",
                             f"active's authkeys [{flat(cluster_keys)}], rogue's [{flat(rogue_keys)}]: {want}",
                             got, "PASS" if ok else "FAIL")
        self.tutorial.figure("security", f"authentication, {case}", ("as expected: " if ok else "NOT as expected: ") + want)

    def failed(self) -> list[tuple[str, str]]:
        return [(case, got) for case, ok, got in self.rows if not ok]


@pytest.mark.expected(logs=(r"Both machines own .* resources", r"returning after partition", r"CRIT: Late heartbeat"))
def test_a_rogue_heartbeat_on_the_lan_needs_the_key(request, tutorial, lab, faults):
    cluster = lab.cluster
    holders = vip_holders(lab)
    assert len(holders) == 1, f"the security test starts from one active balancer; the VIP is held by {holders}"
    active = lab.node(holders[0])
    standby = lab.node(next(n.name for n in cluster.balancers if n.name != active.name))
    key = cluster.stack.authkey
    ours = _authkeys("md5", key)
    files = {f: active.succeed(["cat", f"/etc/ha.d/{f}"]) for f in FILES}
    assert active.succeed(["cat", "/etc/ha.d/authkeys"]) == ours, "the active's authkeys is not chapter 4's"
    client = lab.node(cluster.by_role("client")[0].name)
    matrix = Matrix(tutorial, active, standby.name)

    # The standby is powered off; a rogue comes up on the LAN and calls itself by its name.
    power = faults.crash(standby.name)
    rogue, presence = faults.rogue(ROGUE)
    rogue.succeed(f"hostname {standby.name} && echo {standby.name} > /etc/hostname")
    for name, text in files.items():
        rogue.put_file(f"/etc/ha.d/{name}", text, mode="0755" if name.startswith("resource.d/") else "0644")
    rogue_mac = rogue.succeed(["cat", f"/sys/class/net/{cluster.interface}/address"]).strip()
    rogue_vip = taken = None
    try:
        # 1. The cluster's md5, a wrong key: not heard; the rogue, hearing nobody, takes the VIP itself.
        wrong = _authkeys("md5", "not-" + key)
        rogue.put_file("/etc/ha.d/authkeys", wrong, mode="0600")
        started = time.time()
        rogue.succeed("/etc/init.d/heartbeat start", timeout=300)
        matrix.not_heard("md5, a wrong key", ours, wrong)
        listed, _ = poll_until(lambda: (cluster.vip in (lab.lan_addresses(ROGUE.name) or []),
                                        lab.lan_addresses(ROGUE.name)), timeout=TAKEOVER, interval=2)
        rogue_vip = time.time() - started if listed else None
        neigh = client.run(["ip", "neigh", "show", cluster.vip]).stdout.strip()
        tutorial.record("security", "FINDING: the rogue with a wrong key takes the VIP for itself all the same",
                        ROGUE.name, "ip addr (rogue); ip neigh (client)",
                        "the key keeps the rogue out of the cluster, not off the VIP's address: hearing no valid "
                        "peer, its heartbeat takes haresources' resources (IPaddr2 and its gratuitous ARP)",
                        f"rogue listed the VIP {'never' if rogue_vip is None else f'{rogue_vip:.0f} s after its start'}; "
                        f"client's ARP entry for the VIP: {neigh} (rogue's MAC {rogue_mac}: "
                        f"{'yes' if rogue_mac in neigh else 'no'}); the active still lists it: "
                        f"{vip_holders(lab) == [active.name]}", "PASS" if rogue_vip is not None else "FAIL")
        tutorial.figure("security", "rogue (wrong key): VIP on the rogue after its start",
                        "never" if rogue_vip is None else f"{rogue_vip:.0f} s")

        # 2. Other keys against the cluster's md5, by reload: crc (no key), sha1 with the right key.
        for case, keys in (("crc against the cluster's md5", _authkeys("crc")),
                           ("sha1 with the right key against the cluster's md5", _authkeys("sha1", key))):
            _set_keys(rogue, keys)
            matrix.not_heard(case, ours, keys)

        # 3. The cluster on sha1, the rogue with a wrong sha1 key.
        sha1, wrong_sha1 = _authkeys("sha1", key), _authkeys("sha1", "not-" + key)
        _set_keys(rogue, wrong_sha1)
        _set_keys(active, sha1)
        matrix.not_heard("sha1, a wrong key", sha1, wrong_sha1)

        # 4. The cluster on crc: the rogue, knowing no key, joins. It first gives up the VIP it took
        #    (a clean stop), so it joins as a fresh standby.
        rogue.succeed("/etc/init.d/heartbeat stop", timeout=300)
        crc = _authkeys("crc")
        _set_keys(active, crc)
        rogue.put_file("/etc/ha.d/authkeys", crc, mode="0600")
        rogue.succeed("/etc/init.d/heartbeat start", timeout=300)
        matrix.heard("crc (no key at all)", crc, crc)
        rogue.succeed("/etc/init.d/heartbeat stop", timeout=300)
        wait_until(lambda: _is(_seen_by(active, standby.name), "dead"),
                   timeout=HEARD, interval=2, what=f"{active.name} to see the rogue leave")

        # 5. The cluster's md5 and the right key: it joins, and can ask for everything.
        _set_keys(active, ours)
        rogue.put_file("/etc/ha.d/authkeys", ours, mode="0600")
        rogue.succeed("/etc/init.d/heartbeat start", timeout=300)
        joined = matrix.heard("md5, the right key", ours, ours)
        asked = time.time()
        rogue.succeed("/usr/share/heartbeat/hb_takeover all", timeout=120)
        given, _ = poll_until(lambda: (vip_holders(lab) == [] and cluster.vip in (lab.lan_addresses(ROGUE.name) or []),
                                       (vip_holders(lab), lab.lan_addresses(ROGUE.name))), timeout=TAKEOVER, interval=2)
        taken = time.time() - asked if given else None
        tutorial.record("security", "with the right key the rogue joins and takes the VIP (hb_takeover all)",
                        f"{active.name}, {ROGUE.name}", f"cl_status nodestatus {standby.name}; hb_takeover all; ip addr",
                        f"{active.name} gives every resource up to it: the key is the cluster's only defence, so "
                        "it must stay secret (mode 600)",
                        f"{joined}; {active.name} gave the VIP up "
                        f"{'never' if taken is None else f'{taken:.0f} s after hb_takeover'}",
                        "PASS" if taken is not None else "FAIL")
        tutorial.figure("security", "rogue (right key): the active gave the VIP up after hb_takeover",
                        "never" if taken is None else f"{taken:.0f} s")
    finally:
        if active.run(["cat", "/etc/ha.d/authkeys"]).stdout != ours:
            _set_keys(active, ours)  # chapter 4's key back on the active, whatever happened
        verdict, said = _rogue_gone(tutorial, lab, faults, active, standby, presence, power)
    assert not matrix.failed(), f"heartbeat's authentication did not behave as its methods say: {matrix.failed()}"
    assert rogue_vip is not None, f"expected (a finding) the rogue to take the VIP for itself within {TAKEOVER:.0f} s"
    assert taken is not None, f"with the right key the rogue should have taken the VIP from {active.name}"
    assert verdict == "PASS", f"expected (a finding of an earlier run) {active.name} to drop {standby.name}'s messages: {said}"


def _rogue_gone(tutorial, lab, faults, active, standby, presence, power) -> tuple[str, str]:
    """The rogue taken away, the standby powered on, its replay finding checked and the operator's
    repair made (also after a failed case: the next test needs a live standby)."""
    # 6. The rogue taken away (its heartbeat dies with it: the active declares it dead and takes the
    #    VIP back), then the standby powered on.
    faults.heal(presence)
    wait_until(lambda: (vip_holders(lab) == [active.name], vip_holders(lab)), timeout=TAKEOVER, interval=3,
               what=f"{active.name} to take the VIP back once the rogue is gone")
    booted = time.time()
    faults.heal(power)

    # FINDING (first seen 2026-11-27 12:27): heartbeat numbers a node's starts (its generation) from
    # the clock of its first start, kept on its disk. The rogue's first start came later than the
    # real standby's, so the active now drops every message of the real node as a replay
    # ("should_drop_message: attempted replay attack [loadb2]?") and it cannot rejoin.
    replay = f"attempted replay attack \\[{standby.name}\\]"

    def dropped():
        result = active.run(f"grep -a -c '{replay}' /var/log/ha-log")
        seen = _seen_by(active, standby.name)
        return int(result.stdout.strip() or 0) > 0 and seen != "active", f"{result.stdout.strip()} lines; seen as {seen}"

    try:
        said = wait_until(dropped, timeout=TAKEOVER, interval=3, what=f"{active.name} to drop {standby.name}'s messages")
        verdict = "PASS"
    except AssertionError as failure:
        said, verdict = str(failure), "FAIL"
    tutorial.record("security", f"FINDING: after the rogue, the real {standby.name} cannot rejoin (its messages "
                                "are dropped as a replay)", active.name, f"grep '{replay}' /var/log/ha-log; cl_status nodestatus",
                    f"{active.name} drops the real {standby.name}'s messages: the rogue's heartbeat generation is newer "
                    "than the one on the real node's disk", f"{said} ({time.time() - booted:.0f} s after the boot)", verdict)
    # The way out: the active must forget the rogue's generation, which only a start of its
    # heartbeat does. A new generation for the standby alone (its file removed, heartbeat killed and
    # started; a run of 2026-11-28) was accepted by the active ("Heartbeat restart on node"), but the
    # standby's heartbeat then stalled after its status script, `cl_status` calling it stopped, for
    # the 180 s watched. So both are started again, as chapter 5 starts them (the standby's heartbeat
    # SIGKILLed: its `stop` hung for 300 s in this state in a run by hand). A HARNESS STEP.
    restart_pair(tutorial, lab, "security", f"so that {active.name} forgets the rogue's heartbeat generation",
                 "(nothing rewritten)", kill=(standby.name,))
    return verdict, said
