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

    def lan_addresses(self, node: str, *, timeout: float = 3.0) -> list[str] | None:
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
    lab = LogLab()
    watch = LogWatch(lab).start()
    assert watch.marks == {"loadb1": [100, 2000], "loadb2": [50, 300]} and watch.kernel == {"kernel": 7}
    unexpected, allowed = watch.lines(allowed=(r"Both machines own .* resources",))
    assert unexpected == ["loadb2: Nov 27 loadb2 heartbeat: [9]: CRIT: Emergency Shutdown: Master Control process died.",
                          "kernel: BUG: unable to handle page fault"]
    assert allowed == ["loadb2: Nov 27 loadb2 heartbeat: [9]: ERROR: Both machines own our resources!"]
    assert lab.asked == [("loadb1", [100, 2000]), ("loadb2", [50, 300])]


class LogLab(FakeLab):
    """Logs that grew: loadb2's heartbeat wrote two bad lines, the kernel one."""

    def __init__(self) -> None:
        super().__init__(load_cluster(), "lvslab-test")
        self.asked: list[tuple[str, list[int]]] = []

    def log_sizes(self, node, paths):
        assert paths == ("/var/log/syslog", "/var/log/ha-log")
        return {"loadb1": [100, 2000], "loadb2": [50, 300]}[node]

    def logs_since(self, node, paths, sizes):
        self.asked.append((node, sizes))
        return {"loadb1": "Nov 27 loadb1 heartbeat: [8]: info: all is well\n",
                "loadb2": "Nov 27 loadb2 heartbeat: [9]: ERROR: Both machines own our resources!\n"
                          "Nov 27 loadb2 heartbeat: [9]: CRIT: Emergency Shutdown: Master Control process died.\n"}[node]

    def kernel_mark(self):
        return {"kernel": 7}

    def kernel_since(self, mark):
        return {"kernel": "IPVS: rr scheduler registered.\nBUG: unable to handle page fault"}


def test_a_kernel_log_record_gives_its_sequence_number_and_its_first_line():
    from lab.providers.netns import kmsg_record

    raw = b"4,1832,88723451,-;IPVS: rr: TCP 192.168.0.105:80 - no destination available\n SUBSYSTEM=net\n"
    assert kmsg_record(raw) == (1832, "IPVS: rr: TCP 192.168.0.105:80 - no destination available")
    assert kmsg_record(b"garbage") is None


def test_the_recorder_samples_into_its_timeline_with_the_same_watch():
    from lab.recorder import Recorder

    lab = AddressLab()
    lab.nodes["client"] = ScriptedNode("client", [(0, "")])
    rec = Recorder(lab, duration=1, interval=0.01)
    samples = [rec.sample() for _ in range(4)]
    assert rec.timeline.holders == samples and rec.holders_now() == ("loadb1", "loadb2")
    assert samples[1].unknown == ("loadb1",)
    assert [w[2] for w in rec.windows_with_two_holders()] == [("loadb1", "loadb2")]
    rec.watch.stop()
