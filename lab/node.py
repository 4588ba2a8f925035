"""A lab node and the verbs every scenario uses, written once for every provider.

A provider only implements `_execute` (run one command inside the node); `succeed`,
`fail`, `wait_until_succeeds`, `put_file`, `host` (testinfra) and friends live here.
"""

from __future__ import annotations

import shlex
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import testinfra.host

from lab import interrupt
from lab.cluster import NodeSpec
from lab.wait import wait_until

Command = str | Sequence[str]


@dataclass
class CommandCount:
    """Every command this process ran in a node, and how long they took together (under TCG a
    fork+exec costs 40-80 ms, so the count is where much of a run's time goes)."""
    commands: int = 0
    seconds: float = 0.0

    def describe(self) -> str:
        mean = self.seconds / self.commands * 1000 if self.commands else 0.0
        return f"{self.commands} node commands, {self.seconds:.0f} s in all (mean {mean:.0f} ms)"


counted = CommandCount()


@dataclass(frozen=True)
class Result:
    node: str
    command: str
    rc: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def describe(self) -> str:
        parts = [f"{self.node}$ {self.command}  (exit {self.rc}, {self.seconds:.1f} s)"]
        if self.stdout.strip():
            parts.append(f"stdout:\n{self.stdout.rstrip()}")
        if self.stderr.strip():
            parts.append(f"stderr:\n{self.stderr.rstrip()}")
        return "\n".join(parts)


def as_shell(command: Command) -> str:
    """Commands are argument lists or plain shell text; lists are quoted, never glued."""
    return command if isinstance(command, str) else shlex.join(command)


class Node(ABC):
    """One Debian node of the lab: a namespace bundle, a VM, ... (see lab/providers)."""

    def __init__(self, spec: NodeSpec) -> None:
        self.spec = spec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def address(self) -> str:
        return self.spec.address

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.address}>"

    # --- what a provider implements -------------------------------------------------
    @abstractmethod
    def _execute(self, script: str, *, stdin: bytes | None, timeout: float, env: dict[str, str]) -> Result:
        """Run `script` with /bin/sh inside the node as root and return its result."""

    def shell_argv(self) -> list[str]:
        """The argv of an interactive login shell inside this node (for `lvslab shell`)."""
        raise NotImplementedError(f"{type(self).__name__} has no interactive shell")

    # --- the verbs ----------------------------------------------------------------------
    def run(self, command: Command, *, stdin: bytes | None = None, timeout: float = 120,
            env: dict[str, str] | None = None) -> Result:
        interrupt.check()
        result = self._execute(as_shell(command), stdin=stdin, timeout=timeout, env=env or {})
        counted.commands += 1
        counted.seconds += result.seconds
        interrupt.check()
        return result

    def succeed(self, command: Command, *, timeout: float = 120) -> str:
        """Run a command that must succeed; its failure is the cluster's (AssertionError)."""
        __tracebackhide__ = True
        result = self.run(command, timeout=timeout)
        assert result.ok, f"command failed on {self.name}:\n{result.describe()}"
        return result.stdout

    def fail(self, command: Command, *, timeout: float = 120) -> str:
        """Run a command that must fail (non-zero exit)."""
        __tracebackhide__ = True
        result = self.run(command, timeout=timeout)
        assert not result.ok, f"command unexpectedly succeeded on {self.name}:\n{result.describe()}"
        return result.stdout + result.stderr

    def wait_until_succeeds(self, command: Command, *, timeout: float = 60, interval: float = 1) -> str:
        def probe() -> tuple[bool, Result]:
            result = self.run(command, timeout=timeout)
            return result.ok, result

        result = wait_until(probe, timeout=timeout, interval=interval,
                            what=f"`{as_shell(command)}` to succeed on {self.name}")
        return result.stdout

    def put_file(self, path: str, content: str, mode: str = "0644") -> None:
        """Write a file inside the node (content goes over stdin, never through the shell)."""
        script = f"mkdir -p \"$(dirname {shlex.quote(path)})\" && cat > {shlex.quote(path)} && chmod {mode} {shlex.quote(path)}"
        result = self.run(script, stdin=content.encode())
        if not result.ok:
            from lab.errors import LabError
            raise LabError(f"could not write {path} on {self.name}:\n{result.describe()}")

    @cached_property
    def host(self) -> testinfra.host.Host:
        """A testinfra Host for this node: node.host.file(...), .sysctl(...), .interface(...)."""
        import testinfra.host  # here, not at the top: `lvslab` commands never need it

        from lab.testinfra_backend import NodeBackend

        return testinfra.host.Host(NodeBackend(self))
