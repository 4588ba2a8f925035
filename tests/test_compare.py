"""The comparison of runs (lab/compare.py, `lvslab compare`): a row per test, a column per
stack × release, each cell a verdict linking to that run's report; what differs; the figures."""

import json

import pytest

from lab import cli
from lab.compare import cell_verdict, comparison, load_run, write_comparison
from lab.errors import LabError
from lab.report import TutorialReport

CH5 = "scenarios/test_ch5_load_balancers.py"
STANDBY = f"{CH5}::test_hot_standby_ipvs_table_is_empty"
VIP = f"{CH5}::test_vip_on_the_active"
FAILOVER = "scenarios/test_ch7_further_testing.py::test_failover_moves_the_vip"
NOTE = "keepalived keeps the virtual service on the standby"


def _check(report: TutorialReport, test: str, title: str, verdict: str, note: str = "") -> None:
    report.current_test = test
    report.record("5", title, "loadb2", "ipvsadm -L -n", "(empty)", "TCP 192.168.0.105:80", verdict, note)


def _heartbeat() -> TutorialReport:
    report = TutorialReport(stack="heartbeat", release="bookworm")
    # The ch7 test ran first: the rows still come by file, ch5 before ch7.
    _check(report, FAILOVER, "the VIP moves", "PASS")
    report.outcome(FAILOVER, "passed", "call")
    _check(report, STANDBY, "the standby's table is empty", "PASS")
    report.outcome(STANDBY, "passed", "call")
    _check(report, VIP, "the VIP is on loadb1", "PASS")
    report.outcome(VIP, "passed", "call")
    report.figure("7", "failover", "3.1 s")
    report.figures["lab: bring-up"] = "40.0 s"
    return report


def _keepalived() -> TutorialReport:
    report = TutorialReport(stack="keepalived", release="bookworm")
    _check(report, STANDBY, "the standby's table is empty", "DIFFERS", NOTE)
    _check(report, STANDBY, "the standby's table once more", "DIFFERS", NOTE)  # the same note: listed once
    report.outcome(STANDBY, "passed", "call")
    _check(report, VIP, "the VIP is on loadb1", "PASS")
    report.outcome(VIP, "passed", "call")
    report.outcome(VIP, "error", "teardown", "the lab would not stop")  # passed, then errored: a fail
    report.figure("7", "failover", "1.2 s")
    return report


@pytest.fixture
def runs(tmp_path):
    """The two runs written as the plugin writes them, each to its own report folder."""
    _heartbeat().write(tmp_path / "compare" / "heartbeat-bookworm")
    _keepalived().write(tmp_path / "compare" / "keepalived-bookworm")
    return [load_run(tmp_path / "compare" / "heartbeat-bookworm"), load_run(tmp_path / "compare" / "keepalived-bookworm")]


def _row(md: str, short: str) -> list[str]:
    line = next(line for line in md.splitlines() if line.startswith(f"| `{short}`"))
    return [c.strip() for c in line.strip("|").split("|")][1:]


def test_cell_verdict_rule():
    assert cell_verdict("passed", ["PASS", "PASS"]) == "pass"
    assert cell_verdict("passed", []) == "pass"
    assert cell_verdict("passed", ["PASS", "DIFFERS"]) == "differs"
    assert cell_verdict("passed", ["DIFFERS", "FAIL"]) == "fail"  # a failed check outweighs a difference
    assert cell_verdict("passed", ["ERROR"]) == "fail"
    assert cell_verdict("failed", ["PASS"]) == "fail"
    assert cell_verdict("error", ["DIFFERS"]) == "fail"
    assert cell_verdict("skipped", []) == "skipped"


def test_results_json_has_each_tests_worst_outcome_checks_and_figures(tmp_path):
    _keepalived().write(tmp_path)
    data = json.loads((tmp_path / "results.json").read_text())
    assert (data["stack"], data["release"]) == ("keepalived", "bookworm") and data["written"]
    assert data["tests"][VIP]["outcome"] == "error"  # passed in call, errored in teardown
    assert data["tests"][STANDBY] == {"outcome": "passed", "checks": [
        {"title": "the standby's table is empty", "verdict": "DIFFERS", "note": NOTE},
        {"title": "the standby's table once more", "verdict": "DIFFERS", "note": NOTE}]}
    assert _heartbeat().results()["figures"] == {"7": {"failover": "3.1 s"}, "run": {"lab: bring-up": "40.0 s"}}


def test_the_table_has_a_row_per_test_by_file_and_a_column_per_stack_and_release(runs, tmp_path):
    md, _ = comparison(runs, tmp_path)
    assert "| test | heartbeat × bookworm | keepalived × bookworm |" in md
    shorts = [line.split("`")[1] for line in md.splitlines() if line.startswith("| `")]
    assert shorts == ["test_ch5_load_balancers.py::test_hot_standby_ipvs_table_is_empty",
                      "test_ch5_load_balancers.py::test_vip_on_the_active",
                      "test_ch7_further_testing.py::test_failover_moves_the_vip"]
    heartbeat, keepalived = "compare/heartbeat-bookworm/tutorial-report.html", "compare/keepalived-bookworm/tutorial-report.html"
    assert _row(md, "test_ch5_load_balancers.py::test_hot_standby_ipvs_table_is_empty") == [
        f"[pass]({heartbeat})", f"[differs]({keepalived})"]
    assert _row(md, "test_ch5_load_balancers.py::test_vip_on_the_active") == [f"[pass]({heartbeat})", f"[fail]({keepalived})"]
    assert _row(md, "test_ch7_further_testing.py::test_failover_moves_the_vip") == [f"[pass]({heartbeat})", "—"]
    assert md.index("pass = behaves as the tutorial documents") < md.index("| test |")


def test_links_are_relative_to_the_comparisons_folder(runs, tmp_path):
    md, page = comparison(runs, tmp_path / "reports")
    assert "[pass](../compare/heartbeat-bookworm/tutorial-report.html)" in md
    assert "<a href='../compare/keepalived-bookworm/tutorial-report.html'" in page


def test_what_differs_lists_each_note_once_and_the_figures_side_by_side(runs, tmp_path):
    md, page = comparison(runs, tmp_path)
    differs = md.split("## What differs")[1].split("## Figures side by side")[0]
    assert differs.strip() == (f"- keepalived × bookworm, `test_ch5_load_balancers.py::test_hot_standby_ipvs_table_is_empty`: "
                               f"{NOTE}")
    figures = md.split("## Figures side by side")[1]
    assert "| 7: failover | 3.1 s | 1.2 s |" in figures
    assert "| run: lab: bring-up | 40.0 s | — |" in figures
    assert NOTE in page and "<td>3.1 s</td><td>1.2 s</td>" in page


def test_a_folder_without_results_is_a_lab_error_that_says_how_to_make_one(tmp_path):
    with pytest.raises(LabError) as error:
        load_run(tmp_path / "old-run")
    assert str(tmp_path / "old-run") in error.value.what
    assert f"--lab-reports={tmp_path / 'old-run'}" in error.value.fix


def test_write_comparison_writes_markdown_and_html(runs, tmp_path):
    paths = write_comparison(runs, tmp_path / "out")
    assert paths == [tmp_path / "out" / "comparison.md", tmp_path / "out" / "comparison.html"]
    assert "[differs](../compare/keepalived-bookworm/tutorial-report.html)" in paths[0].read_text()
    assert paths[1].read_text().startswith("<!doctype html>")


def test_lvslab_compare_defaults_to_the_runs_under_reports_compare(runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "compare").symlink_to(tmp_path / "compare")
    (tmp_path / "compare" / "no-results").mkdir()  # a folder without results.json is left out
    assert cli.main(["compare"]) == 0
    assert capsys.readouterr().out.split() == ["reports/comparison.md", "reports/comparison.html"]
    md = (tmp_path / "reports" / "comparison.md").read_text()
    assert "| test | heartbeat × bookworm | keepalived × bookworm |" in md
    assert "[differs](compare/keepalived-bookworm/tutorial-report.html)" in md


def test_lvslab_compare_of_named_folders_to_out(runs, tmp_path, capsys):
    out = tmp_path / "side-by-side"
    assert cli.main(["compare", str(tmp_path / "compare" / "keepalived-bookworm"), "--out", str(out)]) == 0
    assert capsys.readouterr().out.split() == [str(out / "comparison.md"), str(out / "comparison.html")]
    md = (out / "comparison.md").read_text()
    assert "| test | keepalived × bookworm |" in md and "heartbeat" not in md


def test_lvslab_compare_with_nothing_to_compare_says_what_to_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["compare"]) == 2
    err = capsys.readouterr().err
    assert "no run to compare" in err and "./run.sh compare" in err
    assert cli.main(["compare", "reports/runs/x"]) == 2
    assert "--lab-reports=reports/runs/x" in capsys.readouterr().err


def test_the_two_lanes_of_one_stack_and_release_are_one_column_linking_each_test_to_its_run(tmp_path):
    """./run.sh test runs the namespace scenarios in two lanes (two report folders): one column."""
    chapters, families = TutorialReport(stack="heartbeat", release="bookworm"), TutorialReport(stack="heartbeat", release="bookworm")
    _check(chapters, VIP, "the VIP is on loadb1", "PASS")
    chapters.outcome(VIP, "passed", "call")
    chapters.figure("5", "bring-up", "40 s")
    _check(families, FAILOVER, "the VIP moves", "FAIL")
    families.outcome(FAILOVER, "failed", "call")
    families.figure("faults", "takeover", "50 s")
    chapters.write_results(tmp_path / "heartbeat-bookworm")
    families.write_results(tmp_path / "heartbeat-bookworm-2")
    runs = [load_run(tmp_path / "heartbeat-bookworm"), load_run(tmp_path / "heartbeat-bookworm-2")]
    md, page = comparison(runs, tmp_path)
    assert "| test | heartbeat × bookworm |" in md  # one column, no folder in its heading
    assert _row(md, "test_ch5_load_balancers.py::test_vip_on_the_active") == ["[pass](heartbeat-bookworm/tutorial-report.html)"]
    assert _row(md, "test_ch7_further_testing.py::test_failover_moves_the_vip") == \
        ["[fail](heartbeat-bookworm-2/tutorial-report.html)"]
    assert "40 s" in md and "50 s" in md
    assert "heartbeat-bookworm + " in md and "heartbeat-bookworm-2/tutorial-report.html" in page
    # runs that share a test are not joined: they are two runs, told apart by their folder
    chapters.write_results(tmp_path / "again")
    md, _ = comparison(runs[:1] + [load_run(tmp_path / "again")], tmp_path)
    assert "heartbeat × bookworm (heartbeat-bookworm)" in md and "heartbeat × bookworm (again)" in md
