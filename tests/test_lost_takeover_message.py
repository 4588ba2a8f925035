"""A takeover heartbeat never finishes (lab/checks/heartbeat.py: lost_takeover_message), on a recorded log.

tests/golden/ha-log-lost-takeover-message.txt is loadb1's ha-log (its last 200 lines) from the
fresh-clone CI run of 2026-12-04 23:43 at c4b7da3, one vCPU: at 23:38 a takeover finished as
usual (mach_down's "takeover complete for node loadb2", then heartbeat's own "mach_down takeover
complete."); at 23:40 loadb2's heartbeat was stopped, loadb1 took over, its FIFO reader logged
"msg2string: Message with zero fields" as mach_down sent its message, and heartbeat's own line
never came: `cl_status rscstatus` said "transition" for the 180 s watched."""

from __future__ import annotations

from pathlib import Path

from lab.checks.heartbeat import lost_takeover_message

LOG = (Path(__file__).parent / "golden" / "ha-log-lost-takeover-message.txt").read_text()


def test_a_takeover_message_lost_in_the_fifo_is_named_by_its_lines():
    zero, done = lost_takeover_message(LOG)
    assert zero.endswith("heartbeat: [3583]: ERROR: msg2string: Message with zero fields")
    assert done == "2026/12/04_23:40:53  mach_down(default)[4018]:    info: mach_down takeover complete for node loadb2."


def test_a_takeover_heartbeat_heard_the_end_of_is_not_one():
    before = LOG[:LOG.index("Dec 04 23:40:10")]
    assert "mach_down takeover complete for node loadb2" in before and lost_takeover_message(before) == []
    heard = LOG + "Dec 04 23:40:54 loadb1 heartbeat: [3577]: info: mach_down takeover complete.\n"
    assert lost_takeover_message(heard) == []
