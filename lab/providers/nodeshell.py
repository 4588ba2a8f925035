"""A shell kept open inside a namespace node, so that a node command costs one fork (and the
command's own exec), not three execs (nsenter, /bin/sh, then the command).

Under TCG an exec costs about 100 ms: `nsenter ... /bin/sh -c true` took 193 ms in the microVM,
the same `true` sent to a shell already inside the node 7 ms, and `ip -o addr` 310 against 139 ms
(a microVM with nothing else running, 2026-11-28). Mininet keeps one shell per host for the same reason.

Each command runs in a subshell of the kept shell, with stdin from /dev/null and its output in
files under the node's /run (read from this side through /proc/PID/root, then removed), so a daemon
the command starts never holds a pipe of ours open. The kept shell answers with one line
"@@ N RC". A command that outlives its timeout is killed with its whole process tree, as
the one-process-per-command path kills its session; processes that earlier commands left in the
background are no longer the kept shell's children and are left alone.

The shell is not used (NetnsNode falls back to a process per command) for commands given stdin,
while the node is frozen (its kept shell is stopped too), or when another thread is using it.
"""

from __future__ import annotations

import itertools
import os
import select
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path

OUTPUTS = "/run/lvslab-shell"  # inside the node (its /run is a tmpfs of its own)


class ShellGone(Exception):
    """The kept shell died or said something unexpected. `sent`: the command had reached it (and
    may have run, in part), so it must not be run again the other way."""

    def __init__(self, why: str, *, sent: bool = False) -> None:
        super().__init__(why)
        self.sent = sent


class NodeShell:
    def __init__(self, enter: list[str], pid: int, env: dict[str, str], *, inside: str = OUTPUTS,
                 outside: Path | None = None) -> None:
        """`enter` (nsenter ...) runs /bin/sh in the node whose init is `pid`; the output files are
        `inside` the node and, from here, `outside` (default: through /proc/PID/root)."""
        self.pid = pid
        self.lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._buffer = b""
        self.inside = inside
        self.outside = outside if outside is not None else Path(f"/proc/{pid}/root{inside}")
        self.outside.mkdir(mode=0o700, exist_ok=True)
        self.proc = subprocess.Popen([*enter, "/bin/sh", "-s"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=env, start_new_session=True)

    def _files(self, number: int) -> tuple[Path, Path]:
        return self.outside / f"{number}.out", self.outside / f"{number}.err"

    def run(self, script: str, *, timeout: float, env: dict[str, str]) -> tuple[int, str, str]:
        """(rc, stdout, stderr) of `script` run by /bin/sh in the node; rc 124 after `timeout`.
        Raises ShellGone when the kept shell cannot be used (nothing was run then)."""
        number = next(self._numbers)
        remote = shlex.quote(f"{self.inside}/{number}")
        exports = "".join(f"export {key}={shlex.quote(value)}; " for key, value in env.items())
        line = (f"( {exports}eval {shlex.quote(script)} ) </dev/null >{remote}.out 2>{remote}.err; "
                f"echo \"@@ {number} $?\"\n")
        if self.proc.poll() is not None:
            raise ShellGone(f"the kept shell exited ({self.proc.returncode})")
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(line.encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as error:
            raise ShellGone(str(error)) from error
        out, err = self._files(number)
        try:
            answer = self._answer(number, timeout)
        except ShellGone as gone:
            self.close()
            raise ShellGone(f"{gone} while running the command", sent=True) from gone
        except BaseException:  # KeyboardInterrupt included: the command is killed (close), not left running
            self.close()
            raise
        if answer is None:
            self.close()  # the timed-out command's process tree with it
            rc = 124
        else:
            rc = answer
        stdout, stderr = _read_and_remove(out), _read_and_remove(err)
        return rc, stdout, stderr

    def _answer(self, number: int, timeout: float) -> int | None:
        """The command's exit status from the shell's "@@ N RC" line; None when it timed out."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise ShellGone("the kept shell closed its output")
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        words = line.decode(errors="replace").split()
        if len(words) != 3 or words[0] != "@@" or words[1] != str(number) or not words[2].isdigit():
            raise ShellGone(f"the kept shell answered {line!r}")
        return int(words[2])

    def kill_command(self) -> None:
        """SIGKILL the running command's process tree (the kept shell's children and theirs)."""
        for pid in _descendants(self.proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        """Kill the kept shell and what runs below it (not its process group: processes that
        earlier commands left in the background are in it, and belong to the node)."""
        self.kill_command()
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


def _descendants(root: int) -> list[int]:
    """Every process below `root`, children first found through /proc/PID/task/TID/children."""
    found: list[int] = []
    todo = [root]
    while todo:
        pid = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                children = Path(f"/proc/{pid}/task/{tid}/children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                found.append(child)
                todo.append(child)
    return found


def _read_and_remove(path: Path) -> str:
    try:
        text = path.read_bytes().decode(errors="replace")
    except OSError:
        return ""
    try:
        path.unlink()
    except OSError:
        pass
    return text
