"""The lab cleans up after itself: after Ctrl-C, and (with `lvslab clean`) after a hard kill.

Each test starts a second lab in a child pytest on this kernel, waits until its five nodes
are up, interrupts or kills it, and then looks for anything it left: namespaces, its run
folder, its node processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyroute2 import netns

from lab.providers.netns import RUN_DIR
from lab.proc import starttime
from lab.wait import wait_until

pytestmark = pytest.mark.lifecycle
ROOT = Path(__file__).parents[1]


@pytest.fixture
def child_lab(request, tmp_path):
    if request.config.option.lab != "netns":
        pytest.skip("needs --lab=netns")
    before = set(RUN_DIR.glob("*/state.json")) if RUN_DIR.is_dir() else set()
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--lab=netns", "--lab-kernel=host",
            "--lab-reports", str(tmp_path), str(ROOT / "scenarios/test_ch5_load_balancers.py")]
    child = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)

    def nodes_up() -> tuple[bool, object]:
        new = (set(RUN_DIR.glob("*/state.json")) if RUN_DIR.is_dir() else set()) - before
        if child.poll() is not None:
            raise AssertionError(f"the child run ended early:\n{child.stdout.read().decode()}")
        states = [json.loads(p.read_text()) for p in new]
        ready = [s for s in states if len(s["nodes"]) == 5 and all("pid" in n for n in s["nodes"].values())]
        return bool(ready), ready[0] if ready else states

    state = wait_until(nodes_up, timeout=180, interval=0.5, what="the child lab's five nodes")
    yield child, state
    if child.poll() is None:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def assert_nothing_left(state: dict) -> None:
    left = [ns for ns in netns.listnetns() if ns.startswith(state["name"])]
    assert not left, f"namespaces left behind: {left}"
    assert not (RUN_DIR / state["name"]).exists(), f"{RUN_DIR / state['name']} left behind"
    alive = [(name, n[key]) for name, n in state["nodes"].items() for key in ("pid", "unshare")
             if starttime(n[key]) == n.get("starttime" if key == "pid" else "unshare_start")]
    assert not alive, f"node processes left behind: {alive}"
    mounts = [line for line in Path("/proc/mounts").read_text().splitlines() if state["name"] in line]
    assert not mounts, f"mounts left behind: {mounts}"


def test_ctrl_c_during_a_run_leaves_nothing_behind(child_lab):
    child, state = child_lab
    child.send_signal(signal.SIGINT)
    output = child.communicate(timeout=120)[0].decode()
    assert child.returncode == pytest.ExitCode.INTERRUPTED, output
    assert_nothing_left(state)


def test_lvslab_clean_removes_what_a_killed_run_left(child_lab):
    child, state = child_lab
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    time.sleep(0.5)
    survivors = [n["pid"] for n in state["nodes"].values() if starttime(n["pid"]) == n["starttime"]]
    assert survivors, "a killed run leaves its nodes running: nothing for lvslab clean to do?"
    cleaned = subprocess.run([sys.executable, "-m", "lab.cli", "clean"], cwd=ROOT, capture_output=True, text=True)
    assert cleaned.returncode == 0, cleaned.stderr
    assert f"lab {state['name']}: 5 node(s)" in cleaned.stdout
    assert_nothing_left(state)
