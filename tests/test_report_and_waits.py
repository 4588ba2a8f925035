import pytest

from lab.errors import LabError
from lab.node import Result
from lab.report import TutorialReport
from lab.wait import poll_until, wait_until
from tests.fakes import ScriptedNode


def _must_say_running(result):
    assert "running" in result.stdout, f"expected running, saw {result.stdout!r}"


def test_a_passing_check_is_recorded_with_what_was_seen():
    report = TutorialReport(current_test="t::a")
    node = ScriptedNode("loadb1", [(0, "ldirectord for /etc/ha.d/ldirectord.cf is running with pid: 7\n")])
    report.expect("5", "ldirectord is running", node, "ldirectord ldirectord.cf status",
                  documented="... running with pid: 1455", verify=_must_say_running)
    (record,) = report.records
    assert (record.verdict, record.node, record.test) == ("PASS", "loadb1", "t::a")
    assert record.observed.endswith("pid: 7")


def test_a_failing_check_is_recorded_and_raised():
    report = TutorialReport()
    node = ScriptedNode("loadb2", [(3, "ldirectord is stopped for /etc/ha.d/ldirectord.cf\n")])
    with pytest.raises(AssertionError, match="expected running"):
        report.expect("5", "x", node, ["ldirectord", "ldirectord.cf", "status"], documented="", verify=_must_say_running)
    assert report.records[0].verdict == "FAIL" and "expected running" in report.records[0].note


def test_a_retried_check_passes_when_the_state_arrives():
    report = TutorialReport()
    node = ScriptedNode("loadb1", [(0, "stopped"), (0, "stopped"), (0, "running")])
    report.expect("6", "x", node, "true", documented="", verify=_must_say_running, timeout=5, interval=0.01)
    assert report.records[0].verdict == "PASS" and len(node.commands) == 3


def test_report_files_show_expected_observed_and_verdicts(tmp_path):
    report = TutorialReport(header=["lvslab: provider netns"])
    report.record("7", "the site answers", "client", "GET http://192.168.0.105/", "You can now access",
                  "HTTP 200", "PASS")
    report.record("7", "the request fails", "client", "GET", "your request will fail", "HTTP 200", "FAIL", "boom")
    md, page = report.write(tmp_path)
    text = md.read_text()
    assert "1 pass, 1 fail, 0 error" in text and "## Chapter 7: further testing" in text
    assert "### [FAIL] the request fails" in text
    assert "LVSSyncDaemonSwap" in text  # the differences section
    assert "<td style='color:#cf222e;font-weight:bold'>FAIL</td>" in page.read_text()


def test_a_wait_that_times_out_says_what_it_last_saw():
    seen = iter(range(100))
    with pytest.raises(AssertionError, match=r"waited 0 s for the VIP on loadb2; last saw:\nVIP on \['loadb1'\] \(\d+\)"):
        wait_until(lambda: (False, f"VIP on ['loadb1'] ({next(seen)})"), timeout=0.05, interval=0.01,
                   what="the VIP on loadb2")


def test_a_quiet_wait_returns_whether_it_happened_and_what_it_last_saw():
    seen = iter(range(100))
    assert poll_until(lambda: (False, next(seen)), timeout=0.05, interval=0.01) == (False, next(seen) - 1)
    calls = iter([(False, "no"), (True, "yes"), (False, "never read")])
    assert poll_until(lambda: next(calls), timeout=5, interval=0.01) == (True, "yes")


def test_a_harness_wait_raises_lab_error():
    with pytest.raises(LabError):
        wait_until(lambda: (False, "no"), timeout=0, what="x", error=LabError)


def test_succeed_puts_the_whole_result_in_the_failure():
    node = ScriptedNode("webserver1", [(1, "apache2: not running")])
    with pytest.raises(AssertionError, match=r"(?s)webserver1\$ /etc/init.d/apache2 stop .*exit 1.*not running"):
        node.succeed("/etc/init.d/apache2 stop")
    assert node.commands == ["/etc/init.d/apache2 stop"]


def test_argument_lists_are_quoted_not_glued():
    node = ScriptedNode("client", [(0, "")])
    node.run(["echo", "a b", "$HOME"])
    assert node.commands == ["echo 'a b' '$HOME'"]


def test_testinfra_reads_through_the_node():
    class SysctlNode(ScriptedNode):
        def _execute(self, script, **kwargs):
            self.commands.append(script)
            # testinfra first looks the command up, then runs it
            out = "1\n" if " -n " in script else "/usr/sbin/sysctl\n"
            return Result(self.name, script, 0, out, "", 0.01)

    node = SysctlNode("webserver1", [])
    assert node.host.sysctl("net.ipv4.conf.all.arp_ignore") == 1
    assert node.commands[-1] == "/usr/sbin/sysctl -n net.ipv4.conf.all.arp_ignore"


def test_report_sections_follow_the_tutorial_then_the_comments(tmp_path):
    report = TutorialReport()
    report.record("sync", "the standby learns", "loadb2", "ipvsadm -L -n -c", "", "TCP ...", "PASS")
    report.record("5", "the IPVS table", "loadb1", "ipvsadm -L -n", "IP Virtual Server", "IP Virtual Server", "FAIL")
    report.figure("sync", "template seen on the standby after", "0.4 s")
    report.figure("schedulers", "scheduler rr", "['webserver1', 'webserver2']")
    assert [key for key, *_ in report.sections()] == ["5", "schedulers", "sync"]
    md = report.write(tmp_path)[0].read_text()
    assert md.index("## Chapter 5") < md.index("## Schedulers") < md.index("## Connection sync")
    assert "- template seen on the standby after: 0.4 s" in md and "### [FAIL] the IPVS table" in md
    assert "scheduler rr" in (tmp_path / "tutorial-report.html").read_text()


def test_a_ctrl_c_that_python_swallowed_is_raised_by_the_next_node_command():
    import signal
    from lab import interrupt
    node = ScriptedNode("loadb1", [(0, "ok\n"), (0, "ok\n")])
    previous = signal.getsignal(signal.SIGINT)
    interrupt.install()
    try:
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)  # as if lost in an at-fork handler: the note stays
        with pytest.raises(KeyboardInterrupt):
            node.run("true")
        assert node.run("true").ok  # raised once; afterwards commands run again
    finally:
        interrupt.handled()
        signal.signal(signal.SIGINT, previous)
