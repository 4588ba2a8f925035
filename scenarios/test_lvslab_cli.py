"""The lab for people: `lvslab up`, look around as the tutorial does by hand, break something, `down`.

Drives the real command line in subprocesses (and `lvslab shell` in tmux, as a person would)
against a lab of its own, checking what it prints against the lab's real state read by
independent means (`ip -j`, not the harness's parsers).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyroute2 import netns

from lab.wait import wait_until

pytestmark = pytest.mark.cli
ROOT = Path(__file__).parents[1]
NAME = f"lvslab-clitest-{os.getpid()}"  # two runs at once on one IPVS host each have their own


def lvslab(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    # --name right after the command: `exec NODE -- CMD...` takes everything after CMD as the command
    return subprocess.run([sys.executable, "-m", "lab.cli", args[0], "--name", NAME, *args[1:]],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def lab_up(request):
    if request.config.option.lab != "netns":
        pytest.skip("needs --lab=netns")
    started = time.monotonic()
    up = lvslab("up", timeout=900)
    assert up.returncode == 0, up.stdout + up.stderr
    yield up, time.monotonic() - started
    lvslab("down")


def test_up_shows_progress_and_becomes_ready(lab_up):
    up, seconds = lab_up
    for step in ("==> lab: bring-up", "ch4-heartbeat.sh", "provisioning to stage ch6", "ready after"):
        assert step in up.stdout, f"{step!r} missing from `lvslab up`:\n{up.stdout}"


def test_a_second_up_says_it_is_already_up(lab_up):
    again = lvslab("up")
    assert again.returncode == 1 and "is already up" in again.stderr


def test_status_json_matches_the_real_state(lab_up):
    status = json.loads(lvslab("status", "--json").stdout)
    for balancer in ("loadb1", "loadb2"):
        # independent reading: iproute2's own JSON, not lab/checks
        raw = lvslab("exec", balancer, "--", "ip", "-j", "addr", "show", "eth0")
        addresses = [a["local"] for a in json.loads(raw.stdout)[0]["addr_info"] if a["family"] == "inet"]
        entry = next(n for n in status["nodes"] if n["name"] == balancer)
        assert entry["holds_vip"] == ("192.168.0.105" in addresses), (entry, addresses)
    assert status["active"] == "loadb1"
    reals = {r["address"]: r["weight"] for r in status["ipvs"]["services"][0]["reals"]}
    assert reals == {"192.168.0.101:80": 1, "192.168.0.102:80": 1}


def test_status_shows_the_chapter5_picture(lab_up):
    text = lvslab("status").stdout
    assert "virtual IP 192.168.0.105 held by: loadb1" in text
    assert "loadb2       balancer    192.168.0.104   heartbeat=running ldirectord=stopped" in text
    assert "loadb1       balancer    192.168.0.103   heartbeat=running ldirectord=running" in text
    assert "webserver1   realserver  192.168.0.101   apache2=running" in text


def test_exec_prints_the_real_ipvs_table(lab_up):
    result = lvslab("exec", "loadb1", "--", "ipvsadm", "-L", "-n")
    assert result.returncode == 0
    assert result.stdout.startswith("IP Virtual Server version 1.2.1 (size=4096)")
    assert lvslab("exec", "loadb2", "--", "false").returncode == 1


def test_exec_prints_a_long_output_whole(lab_up):
    """ldirectord (a perl script of some 150 KB) printed by `exec`, checked against the node's own
    sha256sum: an answer longer than one write of the agent's channel arrives whole (lab/wire.py)."""
    printed = lvslab("exec", "loadb1", "--", "cat", "/usr/sbin/ldirectord", timeout=120)
    summed = lvslab("exec", "loadb1", "--", "sha256sum", "/usr/sbin/ldirectord").stdout.split()[0]
    assert printed.returncode == 0 and len(printed.stdout) > 100_000, printed.stderr
    assert hashlib.sha256(printed.stdout.encode()).hexdigest() == summed


def test_curl_says_which_server_answered(lab_up):
    answers = {lvslab("curl").stdout.split()[3] for _ in range(2)}
    assert answers == {"webserver1", "webserver2"}


def test_fault_stops_apache_and_the_site_stays_up(lab_up):
    assert lvslab("fault", "apache-stop", "webserver1").returncode == 0
    try:
        def only_webserver2():
            said = lvslab("curl").stdout
            return "from webserver2" in said and "from webserver2" in lvslab("curl").stdout, said

        wait_until(only_webserver2, timeout=60, interval=2, what="requests to avoid webserver1")
    finally:
        assert lvslab("fault", "apache-start", "webserver1").returncode == 0


def test_fault_crash_and_boot_a_real_server(lab_up):
    """A power cut and a boot by hand: while it is off the site is served by webserver2 alone;
    booted, its rc links start Apache and /etc/network/interfaces gives it lo:0 again."""
    crashed = lvslab("fault", "crash", "webserver1")
    assert crashed.returncode == 0 and "crashed" in crashed.stdout
    try:
        assert lvslab("exec", "webserver1", "--", "true").returncode != 0  # nothing runs on it

        def only_webserver2():
            said = [lvslab("curl").stdout for _ in range(2)]
            return all("from webserver2" in s for s in said), said

        wait_until(only_webserver2, timeout=90, interval=2, what="requests to avoid the crashed webserver1")
    finally:
        booted = lvslab("fault", "boot", "webserver1")
    assert booted.returncode == 0 and "booted" in booted.stdout
    assert lvslab("exec", "webserver1", "--", "pgrep", "-x", "apache2").returncode == 0
    assert "192.168.0.105/32" in lvslab("exec", "webserver1", "--", "ip", "addr", "sh", "lo").stdout
    wait_until(lambda: ("from webserver1" in lvslab("curl").stdout or "from webserver1" in lvslab("curl").stdout, ""),
               timeout=120, interval=3, what="webserver1 back in service after its boot")


# tmux's socket on a tmpfs: in the microVM /tmp is the host's, shared over 9p, where a socket
# file cannot be opened (qemu refuses "special files": CVE-2023-2861), and after qemu's refusal
# the run's own temporary files on 9p failed too (FileNotFoundError in pytest's capture).
TMUX = ["tmux", "-S", f"/dev/shm/{NAME}.tmux"]


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (./run.sh setup installs it)")
def test_shell_gives_a_working_prompt_inside_the_node(lab_up):
    session = NAME
    subprocess.run([*TMUX, "kill-session", "-t", session], capture_output=True)
    subprocess.run([*TMUX, "new-session", "-d", "-s", session, "-x", "120", "-y", "30",
                    f"cd {ROOT} && {sys.executable} -m lab.cli shell webserver1 --name {NAME}"], check=True)
    try:
        def screen() -> str:
            return subprocess.run([*TMUX, "capture-pane", "-t", session, "-p"], capture_output=True, text=True).stdout

        wait_until(lambda: ("root@webserver1:/#" in screen(), screen()), timeout=60, interval=0.5, what="the prompt")
        subprocess.run([*TMUX, "send-keys", "-t", session, "ip addr sh lo:0", "Enter"], check=True)
        wait_until(lambda: ("192.168.0.105/32" in screen(), screen()), timeout=30, interval=0.5, what="the VIP on lo:0")
        subprocess.run([*TMUX, "send-keys", "-t", session, "exit", "Enter"], check=True)
        gone = lambda: (subprocess.run([*TMUX, "has-session", "-t", session], capture_output=True).returncode != 0, "")
        wait_until(gone, timeout=30, interval=0.5, what="the shell to end on exit")
    finally:
        subprocess.run([*TMUX, "kill-session", "-t", session], capture_output=True)


def test_down_leaves_nothing_running(lab_up):
    status = json.loads(lvslab("status", "--json").stdout)
    down = lvslab("down")
    assert down.returncode == 0 and "is down" in down.stdout
    assert not [ns for ns in netns.listnetns() if ns.startswith(status["lab"])]
    assert not (Path("/run/lvslab/up") / NAME).exists()
    assert not Path(f"/run/lvslab/{status['lab']}").exists()
    after = lvslab("status")
    assert after.returncode == 2 and f"no lab '{NAME}' is up" in after.stderr
