import os
import subprocess
import time

from lab.proc import starttime


def test_a_live_process_has_a_start_time_and_a_dead_one_none():
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert starttime(child.pid) is not None
        assert starttime(os.getpid()) != starttime(child.pid) or os.getpid() == child.pid
    finally:
        child.kill()
    deadline = time.monotonic() + 5
    while starttime(child.pid) is not None and time.monotonic() < deadline:  # a zombie until reaped
        time.sleep(0.01)
    assert starttime(child.pid) is None, "an unreaped zombie counts as gone"
    child.wait()
    assert starttime(child.pid) is None


def test_owner_records_tell_a_live_run_from_a_dead_one():
    from lab.proc import owner_alive, owner_record

    assert owner_alive(owner_record())
    child = subprocess.Popen(["true"])
    child.wait()
    assert not owner_alive({"owner": child.pid, "owner_start": "0"})
    assert not owner_alive({}), "records from before owners were kept count as leftovers"
