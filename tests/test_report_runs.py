"""Each lab run writes its own report folder; reports/latest follows the newest (issue 8, point 6)."""

from __future__ import annotations

import os

from lab import report_runs


def test_two_runs_get_two_folders_and_latest_follows_the_newest(tmp_path, monkeypatch):
    base = tmp_path / "reports"
    first = report_runs.new_run_folder(base)
    monkeypatch.setattr(os, "getpid", lambda: 424242)  # a second process, started in the same second
    second = report_runs.new_run_folder(base)
    assert first != second and first.parent == second.parent == base / "runs"
    report_runs.point_latest(first)
    (first / "tutorial-report.md").write_text("first")
    report_runs.point_latest(second)
    (second / "tutorial-report.md").write_text("second")
    assert (base / "latest").is_symlink() and os.readlink(base / "latest") == f"runs/{second.name}"
    assert (base / "latest" / "tutorial-report.md").read_text() == "second"
    assert (first / "tutorial-report.md").read_text() == "first"  # nothing of the first run is lost
    assert not [p for p in base.iterdir() if p.name.startswith(".latest")]  # no temporary link left


def test_a_folder_given_by_the_user_is_used_as_it_is(tmp_path):
    mine = tmp_path / "ci-reports"
    mine.mkdir()
    report_runs.point_latest(mine)
    assert report_runs.base_of(mine) == mine and not (tmp_path / "latest").exists()


def test_an_old_report_straight_in_reports_is_moved_into_runs(tmp_path):
    base = tmp_path / "reports"
    (base / "evidence" / "t").mkdir(parents=True)
    (base / "tutorial-report.md").write_text("Checks: 8 pass, 0 fail, 0 error.")
    (base / "README.md").write_text("kept")
    run = report_runs.new_run_folder(base)
    assert not (base / "tutorial-report.md").exists() and not (base / "evidence").exists()
    moved, = [p for p in (base / "runs").iterdir() if p != run]
    assert (moved / "tutorial-report.md").read_text().startswith("Checks: 8 pass")
    assert (moved / "evidence" / "t").is_dir() and (base / "README.md").read_text() == "kept"
    assert report_runs.base_of(run) == base
