"""A testinfra backend for lab nodes: its only job is run(command), as testinfra's own backends."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from testinfra.backend import base

if TYPE_CHECKING:
    from lab.node import Node


class NodeBackend(base.BaseBackend):
    NAME = "lvslab"

    def __init__(self, node: "Node", **kwargs: Any) -> None:
        self.node = node
        super().__init__(node.name, **kwargs)

    def get_pytest_id(self) -> str:
        return f"lvslab://{self.node.name}"

    def run(self, command: str, *args: str, **kwargs: Any) -> base.CommandResult:
        cmd = self.get_command(command, *args)
        result = self.node.run(cmd)
        return self.result(result.rc, self.encode(cmd), result.stdout.encode(), result.stderr.encode())
