"""An in-memory node for unit tests of the harness's own logic (never used by scenarios)."""

from __future__ import annotations

from lab.cluster import NodeSpec
from lab.node import Node, Result
from lab.providers.base import HttpReply, Lab


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


class FakeLab(Lab):
    """A lab with no nodes of its own: tests put ScriptedNodes in it; the site always answers."""

    provider_name = "fake"

    def start(self) -> None:
        pass

    def destroy(self) -> None:
        pass

    def http_get(self, url: str, *, timeout: float = 5.0, source: str | None = None,
                 cookies: dict[str, str] | None = None) -> HttpReply:
        return HttpReply(True, 200, "<h1>webserver2</h1>", "", 0.01)
