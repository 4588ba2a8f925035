"""How a healed split went, read from heartbeat's ha-log (lab/checks/heartbeat.py), on a recorded log.

tests/golden/ha-log-healed-split.txt is loadb1's ha-log from a slow run (2026-12-04, three
one-vCPU microVMs on two cores) after the partition healed: its heartbeat restarted, took
everything on loadb2's shutdown notice, heard loadb2's restart mid-takeover and then ran its
group's takegroup again for each queued ip-request-resp."""

from __future__ import annotations

from pathlib import Path

from lab.checks.heartbeat import TAKEOVER_RACE, heal_story, known_race

GOLDEN = Path(__file__).parent / "golden" / "ha-log-healed-split.txt"


def test_heal_story_keeps_the_lines_that_tell_the_heal_in_order():
    story = heal_story(GOLDEN.read_text())
    said = [line.split(": ", 2)[-1] if "heartbeat:" in line else line.split("    ", 1)[-1] for line in story]
    assert said[:3] == ["WARN: node loadb2: is dead", "info: Giving up all HA resources.",
                        "info: All HA resources relinquished."]
    race = next(i for i, line in enumerate(story) if TAKEOVER_RACE in line)
    shutdown = next(i for i, line in enumerate(story) if "Received shutdown notice from 'loadb2'" in line)
    restart = next(i for i, line in enumerate(story) if "Heartbeat restart on node loadb2" in line)
    assert shutdown < restart < race, story
    assert sum("received ip-request-resp" in line for line in story) == 2
    assert not any("Acquiring resource group" in line or "Link loadb2:eth0 up" in line for line in story)


def test_known_race_names_the_race_line_and_the_node_in_transition():
    said = {"loadb1": heal_story(GOLDEN.read_text()), "loadb2": ["info: Received shutdown notice from 'loadb1'."]}
    why = known_race(said, {"loadb1": "unsettled", "loadb2": "standby"}, unsettled="unsettled")
    assert why == ["loadb1: Dec 04 19:51:47 loadb1 heartbeat: [2313]: WARN: T_STARTING received during takeover.",
                   "loadb1 still in transition"]


def test_a_pair_neither_racing_nor_in_transition_is_not_the_known_race():
    said = {"loadb1": ["info: Heartbeat restart triggered."], "loadb2": []}
    assert known_race(said, {"loadb1": "standby", "loadb2": "standby"}, unsettled="unsettled") == []
    assert known_race({}, {"loadb1": "down", "loadb2": "unsettled"}, unsettled="unsettled") == ["loadb2 still in transition"]
