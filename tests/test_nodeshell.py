"""The shell kept inside a node (lab/providers/nodeshell.py), here run on this machine (no
namespace, no root): each command as `/bin/sh -c` would run it, nothing carried over between
commands, a timeout that kills the command's processes, and a daemon that never holds the answer."""

import os
import subprocess
import time

import pytest

from lab.providers.nodeshell import NodeShell, ShellGone

ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


@pytest.fixture
def shell(tmp_path):
    kept = NodeShell([], os.getpid(), ENV, inside=str(tmp_path / "out"), outside=tmp_path / "out")
    yield kept
    kept.close()


def test_output_status_and_streams_are_the_commands_own(shell, tmp_path):
    assert shell.run("echo out; echo err >&2; exit 3", timeout=10, env={}) == (3, "out\n", "err\n")
    assert shell.run("true", timeout=10, env={}) == (0, "", "")
    assert list((tmp_path / "out").iterdir()) == []  # each command's files are read, then removed


def test_quotes_newlines_and_here_documents_reach_the_shell_unchanged(shell):
    script = "x='it'\"'\"'s'; printf '%s\\n' \"$x\"\ncat <<EOF\nline \"two\" $x\nEOF"
    assert shell.run(script, timeout=10, env={}) == (0, "it's\nline \"two\" it's\n", "")


def test_nothing_carries_over_from_one_command_to_the_next(shell):
    shell.run("cd /; x=1; set -e; trap 'echo bye' EXIT; umask 077", timeout=10, env={})
    rc, out, _ = shell.run('echo "${x:-unset}"; pwd; false; echo after', timeout=10, env={})
    assert (rc, out) == (0, f"unset\n{os.getcwd()}\nafter\n")


def test_environment_is_given_per_command(shell):
    assert shell.run('echo "$GREETING"', timeout=10, env={"GREETING": "a b'c"})[1] == "a b'c\n"
    assert shell.run('echo "${GREETING:-none}"', timeout=10, env={})[1] == "none\n"


def test_stdin_is_empty(shell):
    assert shell.run("cat", timeout=10, env={}) == (0, "", "")


def test_a_daemon_left_in_the_background_does_not_hold_the_answer(shell):
    started = time.monotonic()
    rc, out, _ = shell.run("sleep 30 & echo $!", timeout=10, env={})
    assert rc == 0 and time.monotonic() - started < 5
    daemon = int(out)
    try:
        assert shell.run("echo still here", timeout=10, env={})[1] == "still here\n"
        os.kill(daemon, 0)  # alive
    finally:
        os.kill(daemon, 9)


def test_a_timeout_kills_the_command_and_its_children_and_the_shell_is_not_reused(shell):
    started = time.monotonic()
    rc, out, _ = shell.run("echo begun; sh -c 'sleep 61.25; echo late' ; echo never", timeout=1, env={})
    assert rc == 124 and out == "begun\n" and time.monotonic() - started < 10
    assert shell.proc.poll() is not None
    left = subprocess.run(["pgrep", "-f", "sleep 61.25"], capture_output=True, text=True).stdout
    assert left == "", f"the timed-out command's processes are still there: {left}"
    with pytest.raises(ShellGone):
        shell.run("true", timeout=5, env={})


def test_a_dead_shell_is_said_so(shell):
    shell.close()
    with pytest.raises(ShellGone):
        shell.run("true", timeout=5, env={})


def test_a_shell_killed_while_it_runs_a_command_says_so_and_the_command_is_not_run_again(shell, tmp_path):
    marker = tmp_path / "runs"
    with pytest.raises(ShellGone) as gone:
        shell.run(f"echo once >> {marker}; kill -9 {shell.proc.pid}; sleep 5", timeout=10, env={})
    assert gone.value.sent and marker.read_text() == "once\n"
