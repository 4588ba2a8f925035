"""The report and pytest agree: every outcome is a row, the counts are pytest's, and a lab run
that ends (or stops early) never leaves the previous run's green report behind."""

import re

import pytest

from lab.report import CheckRecord, TutorialReport
from lab.report_diff import diff_html, diff_lines

FAKE_SCENARIOS = """
import time
import pytest

@pytest.fixture
def broken_stage():
    raise AssertionError("waited 300 s for the VIP on loadb1")

@pytest.fixture
def bad_teardown():
    yield
    raise RuntimeError("teardown broke")

def test_checked(tutorial):
    tutorial.record("5", "the VIP on loadb1", "loadb1", "ip addr sh eth0", "inet 192.168.0.105/24", "inet 192.168.0.105/24", "PASS")

def test_fails_after_a_passing_check(tutorial):
    tutorial.record("5", "ldirectord runs", "loadb1", "ldirectord status", "running", "running", "PASS")
    assert False, "the standby also holds the VIP"

def test_stage_errors(broken_stage):
    pass

def test_teardown_errors(bad_teardown):
    pass

@pytest.mark.timeout(1, method="signal")
def test_times_out():
    time.sleep(60)

def test_skipped():
    pytest.skip("needs chapter 5")

@pytest.mark.xfail(reason="the tutorial's standby drops the template")
def test_xfailed():
    assert False
"""


def _counts_line(text: str) -> str:
    return re.search(r"Tests: ([^.]*)\.", text).group(1)


def test_report_rows_and_counts_equal_pytests(pytester):
    reports = pytester.path / "reports"
    reports.mkdir()
    (reports / "tutorial-report.md").write_text("Checks: 8 pass, 0 fail, 0 error.")  # a previous green run
    pytester.makepyfile(test_fake=FAKE_SCENARIOS, test_broken="def test_x(:\\n")
    result = pytester.runpytest_subprocess("--lab-reuse=lvslab-none", "-p", "no:cacheprovider",
                                           "--continue-on-collection-errors", timeout=120)
    pytests = result.parseoutcomes()
    assert pytests == {"passed": 2, "failed": 2, "errors": 3, "skipped": 1, "xfailed": 1}, pytests
    text = (reports / "latest" / "tutorial-report.md").read_text()
    ours = {("errors" if name == "error" else name): int(n)
            for n, name in (part.split() for part in _counts_line(text).split(", "))}
    assert {name: n for name, n in ours.items() if n} == pytests
    assert "Checks: 2 pass, 0 fail, 0 error" in text and "pytest exit status 1" in text
    rows = {line.split(" | ")[1]: line for line in text.splitlines() if line.startswith("| ") and "`test_" in line}
    assert "the standby also holds the VIP" in rows["`test_fake.py::test_fails_after_a_passing_check`"]
    assert "| error | `test_fake.py::test_stage_errors` | setup | 0 | AssertionError: waited 300 s" in text
    assert "| error | `test_fake.py::test_teardown_errors` | teardown | 0 | RuntimeError: teardown broke |" in text
    assert "| failed | `test_fake.py::test_times_out` | call | 0 | Failed: Timeout (>1.0s) from pytest-timeout. |" in text
    assert "| skipped | `test_fake.py::test_skipped` | call | 0 | Skipped: needs chapter 5 |" in text
    assert "| xfailed | `test_fake.py::test_xfailed` | call | 0 | xfail: the tutorial's standby drops" in text
    assert "| error | `test_broken.py` | collect | 0 | SyntaxError: invalid syntax |" in text
    assert "| passed | `test_fake.py::test_checked` | call | 1 |" in text
    assert "Not passed:" in text and "**failed** `test_fake.py::test_times_out`" in text
    assert "Tests: 2 passed, 2 failed, 3 error, 1 skipped, 1 xfailed" in (reports / "latest" / "tutorial-report.html").read_text()


def test_a_lab_run_with_no_check_still_replaces_the_green_report(pytester):
    reports = pytester.path / "reports"
    reports.mkdir()
    (reports / "tutorial-report.md").write_text("Checks: 8 pass, 0 fail, 0 error.")
    pytester.makepyfile("def test_stage_wait(): raise AssertionError('waited 300 s for the VIP')")
    pytester.runpytest_subprocess("--lab-reuse=lvslab-none", "-p", "no:cacheprovider", timeout=120)
    text = (reports / "latest" / "tutorial-report.md").read_text()
    assert "Tests: 0 passed, 1 failed, 0 error, 0 skipped, 0 xfailed" in text and "8 pass" not in text


def test_a_lab_run_that_stops_before_its_tests_leaves_no_green_report(pytester, no_ipvs_no_microvm):
    reports = pytester.path / "reports"
    reports.mkdir()
    (reports / "tutorial-report.md").write_text("Checks: 8 pass, 0 fail, 0 error.")
    (reports / "junit.xml").write_text("<testsuites/>")
    pytester.makepyfile("def test_x(lab): pass")
    assert pytester.runpytest("--lab=netns").ret == pytest.ExitCode.USAGE_ERROR
    text = (reports / "latest" / "tutorial-report.md").read_text()
    assert "8 pass" not in text and "has not written its report: it did not finish" in text
    assert "Tests: none ran" in text and not (reports / "latest" / "junit.xml").exists()
    assert not (reports / "tutorial-report.md").exists()  # the old green report was moved into runs/


def test_differing_lines_are_marked_as_a_diff():
    documented = "TCP  192.168.0.105:80 rr\n  -> 192.168.0.101:80   Route 0 0 0\n  -> 127.0.0.1:80 Local 1 0 0"
    observed = "TCP  192.168.0.105:80 rr\n  -> 192.168.0.101:80       Route   0   0   0\n  -> 127.0.0.1:80 Route 1 0 0"
    assert diff_lines(documented, observed) == [
        "--- tutorial", "+++ observed",
        " TCP  192.168.0.105:80 rr",
        "   -> 192.168.0.101:80       Route   0   0   0",  # realigned columns: the same line, shown as observed
        "-  -> 127.0.0.1:80 Local 1 0 0",
        "+  -> 127.0.0.1:80 Route 1 0 0"]
    assert diff_lines("a\nb", "a  \nb") is None and diff_lines("", "x") is None
    page = diff_html(diff_lines("a\n<b>", "a\nc"))
    assert "<span class=del>-&lt;b&gt;</span>" in page and "<span class=ins>+c</span>" in page


def test_the_report_shows_the_diff_and_a_summary_table_first():
    report = TutorialReport()
    report.records += [CheckRecord("5", "the fallback", "loadb1", "ipvsadm -L -n", "-> 127.0.0.1:80 Local 1",
                                   "-> 127.0.0.1:80 Route 1", "PASS"),
                       CheckRecord("7", "the request fails", "client", "GET", "fails", "HTTP 200", "FAIL")]
    report.figure("7", "failover", "12.5 s | fast")
    text = report.markdown()
    summary = text.index("## Summary")
    assert summary < text.index("## Chapter 5")
    assert "| Chapter 5: start the load balancer and test | 1 | 0 | 0 | 0 |  |" in text
    assert "| Chapter 7: further testing | 0 | 0 | 1 | 0 | failover: 12.5 s \\| fast |" in text
    assert "```diff\n--- tutorial\n+++ observed\n--> 127.0.0.1:80 Local 1\n+-> 127.0.0.1:80 Route 1\n```" in text
    assert "<span class=ins>+-&gt; 127.0.0.1:80 Route 1</span>" in report.html()


def test_a_stacks_own_behaviour_is_a_differs_row_with_its_reason():
    """A pass of a stack's stated behaviour where it departs from the tutorial is counted apart."""
    from tests.fakes import ScriptedNode

    report = TutorialReport()
    node = ScriptedNode("loadb2", [(0, "TCP 192.168.0.105:80 rr")])
    report.expect("5", "the IPVS table", node, "ipvsadm -L -n", documented="(empty)",
                  verify=lambda result: None, differs="keepalived keeps the virtual service on the standby")
    report.expect("5", "the VIP", node, "ipvsadm -L -n", documented="x", verify=lambda result: None)
    assert [(r.verdict, r.note) for r in report.records] == [
        ("DIFFERS", "keepalived keeps the virtual service on the standby"), ("PASS", "")]
    text = report.markdown()
    assert "| Chapter 5: start the load balancer and test | 1 | 1 | 0 | 0 |  |" in text
    assert "Checks: 1 pass, 1 differs, 0 fail, 0 error." in text and "### [DIFFERS] the IPVS table" in text


def test_a_check_cut_short_by_a_timeout_is_an_error_with_the_reason():
    from tests.fakes import ScriptedNode

    class HungNode(ScriptedNode):
        def _execute(self, script, **kwargs):
            raise pytest.fail.Exception("Timeout (>1800.0s) from pytest-timeout.")  # what the signal raises

    report = TutorialReport()
    with pytest.raises(pytest.fail.Exception):
        report.expect("5", "the VIP on loadb1", HungNode("loadb1", [(0, "")]), "ip addr sh eth0",
                      documented="", verify=lambda result: None)
    (record,) = report.records
    assert record.verdict == "ERROR" and "Timeout (>1800.0s)" in record.note


def test_the_faults_table_and_plots_are_in_both_reports(tmp_path):
    from lab.report import FAULT_COLUMNS, TutorialReport

    report = TutorialReport()
    report.fault_row(fault="crash of loadb1", takeover="62.0 s", **{"client-visible gap": "61.5 s | long"})
    report.image("faults", "crash of loadb1", "failover/crash-fault.png")
    md, page = report.write(tmp_path)
    text = md.read_text()
    assert "| fault | detection | takeover |" in text and "| crash of loadb1 | - | 62.0 s | 61.5 s \\| long |" in text
    assert "![crash of loadb1](failover/crash-fault.png)" in text
    html = page.read_text()
    assert "<img src='failover/crash-fault.png'" in html and "<td>crash of loadb1</td>" in html
    assert report.results()["faults"][0]["fault"] == "crash of loadb1" and len(FAULT_COLUMNS) == 7
