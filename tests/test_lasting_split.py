"""heartbeat's split that never heals (lab/checks/heartbeat.py: silent_rejoins, lasting_split), on recorded logs.

tests/golden/ha-log-late-heartbeat-loadb1.txt and -loadb2.txt are the last 200 lines of each
balancer's ha-log at the end of a lab run (2026-12-04 22:08, fec629c, the partition then the lossy
LAN). At 21:59:19 the healed partition took the late-heartbeat path right after "returning after
partition" and both heartbeats restarted; at 22:03:12, at 85 % loss, loadb2 took it on its own
(a heartbeat 10010 ms late, deadtime 10 s): loadb1 dead, its resources taken, loadb1 active again,
and nobody restarted. Both kept the VIP for the 255 s the test watched."""

from __future__ import annotations

from pathlib import Path

from lab.checks.heartbeat import lasting_split, silent_rejoins

GOLDEN = Path(__file__).parent / "golden"
LOGS = {name: (GOLDEN / f"ha-log-late-heartbeat-{name}.txt").read_text() for name in ("loadb1", "loadb2")}


def test_the_late_heartbeat_path_without_a_partition_before_it_is_a_silent_rejoin():
    (seen,) = silent_rejoins(LOGS["loadb2"])
    assert [line.split("]: ", 1)[1] for line in seen] == [
        "CRIT: Late heartbeat: Node loadb1: interval 10010 ms (> deadtime)",
        "WARN: node loadb1: is dead", "info: Status update for node loadb1: status active"]
    assert silent_rejoins(LOGS["loadb1"]) == []


def test_the_late_heartbeat_path_of_a_healed_partition_is_not_one():
    healed = "\n".join(line for line in LOGS["loadb2"].splitlines() if line[7:15] <= "21:59:32")
    assert "returning after partition" in healed and "(> deadtime)" in healed and "Heartbeat shutdown in progress" in healed
    assert silent_rejoins(healed) == []


def test_a_silent_rejoin_nobody_heals_after_is_the_lasting_split_with_heartbeat_s_complaint():
    why = lasting_split(LOGS)
    assert why[0] == "loadb2: Dec 04 22:03:12 loadb2 heartbeat: [933]: CRIT: Late heartbeat: Node loadb1: interval 10010 ms (> deadtime)"
    assert why[3:5] == ["loadb1: Dec 04 22:03:13 loadb1 heartbeat: [1159]: ERROR: Both machines own our resources!",
                        "loadb1: Dec 04 22:03:13 loadb1 heartbeat: [1159]: ERROR: Both machines own foreign resources!"]
    assert len(why) == 7


def test_a_heal_logged_after_the_silent_rejoin_ends_it():
    restarted = LOGS["loadb1"] + "Dec 04 22:04:02 loadb1 heartbeat: [1159]: CRIT: Cluster node loadb2 returning after partition.\n"
    assert lasting_split({"loadb1": restarted, "loadb2": LOGS["loadb2"]}) == []
    assert lasting_split({"loadb1": LOGS["loadb1"]}) == []
    assert lasting_split({}) == []
