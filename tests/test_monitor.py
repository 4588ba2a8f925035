"""The invariant watchers (lab/monitor.py) on a fake lab: VIP holders sampled from a thread,
and bad news read only from what the logs gained while the test ran."""

import time

from lab.cluster import load_cluster
from lab.monitor import LogWatch, VipWatch
from tests.fakes import FakeLab, ScriptedNode


class AddressLab(FakeLab):
    """lan_addresses from a script: loadb2 also lists the VIP from the 3rd reading on; loadb1's 2nd fails."""

    def __init__(self) -> None:
        super().__init__(load_cluster(), "lvslab-test")
        self.readings = {"loadb1": 0, "loadb2": 0}

    def lan_addresses(self, node: str) -> list[str] | None:
        self.readings[node] += 1
        n = self.readings[node]
        if node == "loadb1":
            return None if n == 2 else ["192.168.0.103", self.cluster.vip]
        return ["192.168.0.104", self.cluster.vip] if n >= 3 else ["192.168.0.104"]


def test_the_vip_watch_finds_two_holders_and_takes_a_failed_reading_as_unknown():
    lab = AddressLab()
    with VipWatch(lab, interval=0.01) as watch:
        while len(watch.samples) < 5:
            time.sleep(0.01)
    assert watch.samples[0].holders == ("loadb1",) and watch.samples[1].unknown == ("loadb1",)
    windows = watch.violations()
    assert windows and windows[0][2] == ("loadb1", "loadb2")
    assert "loadb1, loadb2 from" in watch.describe()


def test_bad_news_is_read_from_where_each_log_was_when_the_test_began_and_allowed_lines_are_kept_apart():
    lab = FakeLab(load_cluster(), "lvslab-test")
    hits = ("Nov 27 loadb2 heartbeat: [9]: ERROR: Both machines own our resources!\n"
            "Nov 27 loadb2 heartbeat: [9]: CRIT: Emergency Shutdown: Master Control process died.\n")
    for name, answers in {"loadb1": [(0, "100\n2000\n40\n"), (0, "")],
                          "loadb2": [(0, "50\n300\n40\n"), (0, hits)]}.items():
        lab.nodes[name] = ScriptedNode(name, answers)
    watch = LogWatch(lab).start()
    assert watch.marks == {"loadb1": [100, 2000, 40], "loadb2": [50, 300, 40]}
    unexpected, allowed = watch.lines(allowed=(r"Both machines own .* resources",))
    assert unexpected == ["loadb2: Nov 27 loadb2 heartbeat: [9]: CRIT: Emergency Shutdown: Master Control process died."]
    assert allowed == ["loadb2: Nov 27 loadb2 heartbeat: [9]: ERROR: Both machines own our resources!"]
    scan = lab.nodes["loadb2"].commands[-1]
    assert "tail -c +51 /var/log/syslog" in scan and "tail -c +301 /var/log/ha-log" in scan and "tail -n +41" in scan
