"""An in-memory node for unit tests of the harness's own logic (never used by scenarios)."""

from __future__ import annotations

from lab.cluster import NodeSpec
from lab.node import Node, Result


class ScriptedNode(Node):
    """Answers each command with the next canned (rc, stdout) from a recorded script."""

    def __init__(self, name: str, answers: list[tuple[int, str]]) -> None:
        super().__init__(NodeSpec(name, "balancer", "192.168.0.103"))
        self.answers = list(answers)
        self.commands: list[str] = []

    def _execute(self, script: str, *, stdin: bytes | None, timeout: float, env: dict[str, str]) -> Result:
        self.commands.append(script)
        rc, out = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return Result(self.name, script, rc, out, "", 0.01)
