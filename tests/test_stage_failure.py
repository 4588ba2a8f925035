"""A stage whose stack never makes the preferred balancer active fails with the stack's own last
words (lab/stages.py, stack_said), not only with what the wait last saw."""

from lab.cluster import load_cluster
from lab.stages import stack_said
from tests.fakes import FakeLab, ScriptedNode


def test_each_balancer_s_last_log_lines_are_said():
    lab = FakeLab(load_cluster(), "lvslab-fake")
    log = "\n".join(f"Dec 07 20:40:{i:02d} loadb1 heartbeat: [99]: info: line {i}" for i in range(50))
    lab.nodes["loadb1"] = ScriptedNode("loadb1", [(0, log + "\n")])
    lab.nodes["loadb2"] = ScriptedNode("loadb2", [(0, "Dec 07 20:40:09 loadb2 heartbeat: [77]: WARN: node loadb1: is dead\n")])
    said = stack_said(lab, lines=3)
    assert said.splitlines() == [
        "loadb1's /var/log/ha-log, last 3 lines:",
        "Dec 07 20:40:47 loadb1 heartbeat: [99]: info: line 47",
        "Dec 07 20:40:48 loadb1 heartbeat: [99]: info: line 48",
        "Dec 07 20:40:49 loadb1 heartbeat: [99]: info: line 49",
        "loadb2's /var/log/ha-log, last 3 lines:",
        "Dec 07 20:40:09 loadb2 heartbeat: [77]: WARN: node loadb1: is dead"]
    assert "tail -c +1 /var/log/ha-log" in lab.nodes["loadb1"].commands[0]
