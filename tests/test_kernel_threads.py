"""The sync daemons as kernel threads (lab/kernel_threads.py), read from a /proc laid out as Linux 6.1's."""

from __future__ import annotations

from pathlib import Path

from lab.cluster import load_cluster
from lab.kernel_threads import parse_stat, sync_threads, sync_threads_in
from tests.fakes import FakeLab


def process(proc: Path, pid: int, name: str, parent: int) -> None:
    (proc / str(pid)).mkdir()
    (proc / str(pid) / "stat").write_text(f"{pid} ({name}) S {parent} 0 0 0 -1 69238880 0 0 0 0\n")


def test_the_name_may_hold_spaces_and_parentheses():
    assert parse_stat("77 (kworker/0:1-events (x)) I 2 0 0 0") == ("kworker/0:1-events (x)", 2)


def test_only_kernel_threads_named_as_sync_daemons(tmp_path):
    process(tmp_path, 2, "kthreadd", 0)
    process(tmp_path, 812, "ipvs-m:0:0", 2)
    process(tmp_path, 990, "ipvs-b:0:0", 2)
    process(tmp_path, 31, "ipvs-e:0:0", 2)  # an estimator (newer kernels), not a sync daemon
    process(tmp_path, 1200, "ipvs-b:0:0", 1)  # a process that calls itself that: not a kernel thread
    (tmp_path / "self").mkdir()
    assert sync_threads_in(tmp_path) == ["ipvs-b:0:0", "ipvs-m:0:0"]


def test_a_lab_whose_kernel_is_not_this_ones_cannot_be_read():
    assert sync_threads(FakeLab(load_cluster(), "lvslab-fake")) is None
