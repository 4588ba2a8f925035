"""Two `lvslab up` of one lab started together: one starts it, the other is told it is being started.

No lab is built: `_start` (what `up` does once it holds the claim) is replaced by a stand-in
that waits, so the second `up` certainly arrives while the first is starting.
"""

import subprocess
import sys
import threading

from lab import cli_lab, remote


def test_a_second_up_while_the_first_is_starting_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(remote, "UP_DIR", tmp_path)
    inside, release = threading.Event(), threading.Event()
    started: list[str] = []

    def slow_start(name: str, stage: str, kernel: str, provider: str, stack: str) -> int:
        started.append(name)
        inside.set()
        assert release.wait(10)
        return 0

    monkeypatch.setattr(cli_lab, "_start", slow_start)
    first_rc: list[int] = []
    first = threading.Thread(target=lambda: first_rc.append(cli_lab.up("race", "ch5", "auto")))
    first.start()
    assert inside.wait(10)
    second_rc = cli_lab.up("race", "ch5", "auto")
    release.set()
    first.join(10)
    assert (first_rc, second_rc, started) == ([0], 1, ["race"])
    assert "already being started" in capsys.readouterr().err


def test_the_claim_is_let_go_when_a_start_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(remote, "UP_DIR", tmp_path)

    def broken_start(name: str, stage: str, kernel: str, provider: str, stack: str) -> int:
        raise RuntimeError("the microVM did not boot")

    monkeypatch.setattr(cli_lab, "_start", broken_start)
    for _ in range(2):  # the second attempt is not refused as "being started"
        try:
            cli_lab.up("again", "ch5", "auto")
        except RuntimeError:
            pass
    claim = remote.claim_start("again")
    assert claim is not None
    claim.close()


def test_the_claim_excludes_another_process_until_it_dies(tmp_path, monkeypatch):
    monkeypatch.setattr(remote, "UP_DIR", tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; from lab import remote; "
         f"remote.UP_DIR = Path({str(tmp_path)!r}); claim = remote.claim_start('other'); "
         "print('held' if claim else 'refused', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=cli_lab.REPO)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert remote.claim_start("other") is None
    finally:
        holder.stdin.close()
        holder.wait(10)
    claim = remote.claim_start("other")  # the kernel let go of the dead holder's lock
    assert claim is not None
    claim.close()


def test_clean_leaves_a_running_up_lab_alone_unless_forced(tmp_path, monkeypatch):
    """`lvslab clean` forgets `up` labs whose process died; a live one is someone's lab (issue 8 point 6)."""
    import json
    import os
    import subprocess

    from lab import remote
    from lab.proc import starttime

    monkeypatch.setattr(remote, "UP_DIR", tmp_path)
    sleeper = subprocess.Popen(["sleep", "60"], start_new_session=True)  # a live `up`, its own process group
    try:
        for name, pid, started in (("alive", sleeper.pid, starttime(sleeper.pid)), ("dead", os.getpid(), -1)):
            (tmp_path / name).mkdir()
            (tmp_path / name / "info.json").write_text(json.dumps({"name": name, "pid": pid, "starttime": started}))
        lines = remote.stop_up_labs()
        assert not (tmp_path / "dead").exists() and (tmp_path / "alive" / "info.json").exists()
        assert sleeper.poll() is None and "left running: `lvslab up` lab alive" in lines[0]
        assert remote.stop_up_labs(force=True) == [f"stopped `lvslab up` lab alive (process group {sleeper.pid})"]
        assert sleeper.wait(timeout=10) == -9 and not (tmp_path / "alive").exists()
    finally:
        sleeper.kill()
