"""Provisioning: the tutorial's chapters as scripts, run on the nodes of any provider.

What each provisioning stage runs is `plan()`, in order; stages are cumulative and named after
the tutorial's checks they make possible:
  ch5  balancers built through chapter 4 (heartbeat started), Apache on the web nodes
  ch6  the Apache nodes accept the VIP (chapter 6)
Chapter 7 only tests; it needs stage ch6. lab/stages.py adds the waits (stages.reach).
"""

from __future__ import annotations

import concurrent.futures
import io
import tarfile
from pathlib import Path
from typing import Callable, Sequence, TypeVar

from lab import log
from lab.errors import LabError
from lab.node import Node, Result
from lab.providers.base import Lab
from lab.stacks import Stack, stack_of

T = TypeVar("T")

HERE = Path(__file__).parent
NODE_DIR = "/usr/local/lib/lvslab/provision"  # where the scripts live inside a node


def plan(stack: Stack) -> dict[str, dict[str, tuple[str, ...]]]:
    """Which scripts each role runs at each stage, stages in order; the balancers' come from the stack."""
    return {
        "ch5": {"realserver": ("ch0-apache.sh",), "balancer": stack.balancer_scripts},
        "ch6": {"realserver": ("ch6-realserver.sh",)},
    }


def _scripts_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(HERE.iterdir()):
            if path.suffix == ".sh" or path.name == "LVSSyncDaemonSwap":
                tar.add(path, arcname=path.name)
    return buffer.getvalue()


class Provisioner:
    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.env = lab.cluster.provision_env()
        self.done: list[str] = []
        self._installed: set[str] = set()
        self.transcript: list[Result] = []

    def _install(self, node: Node) -> None:
        if node.name in self._installed:
            return
        result = node.run(f"mkdir -p {NODE_DIR} && tar -x -C {NODE_DIR}", stdin=_scripts_tar())
        if not result.ok:
            raise LabError(f"could not copy the provisioning scripts into {node.name}:\n{result.describe()}")
        self._installed.add(node.name)

    def run_script(self, node: Node, script: str, *, timeout: float = 900,
                   settings: dict[str, str] | None = None) -> Result:
        """Run one chapter script; `settings` override LAB_* values (e.g. LAB_PERSISTENT=600)."""
        self._install(node)
        with log.step(f"{node.name}: {script}{' with ' + ' '.join(f'{k}={v}' for k, v in settings.items()) if settings else ''}"):
            result = node.run(["bash", f"{NODE_DIR}/{script}"], env={**self.env, **(settings or {})},
                              timeout=timeout)
        self.transcript.append(result)
        if not result.ok:
            raise LabError(f"provisioning step {script} failed on {node.name}:\n{result.describe()}",
                           "see the script in lab/provision/ and the node's logs under reports/")
        return result

    def _run_role_scripts(self, node: Node, scripts: Sequence[str]) -> None:
        for script in scripts:
            self.run_script(node, script)

    def provision(self, stage: str) -> None:
        """Run every stage's scripts up to `stage` not yet run, nodes in parallel."""
        stages = plan(stack_of(self.lab.cluster))
        if stage not in stages:
            raise LabError(f"unknown stage {stage!r}", f"use one of {', '.join(stages)}")
        order = list(stages)
        for name in order[: order.index(stage) + 1]:
            if name in self.done:
                continue
            with log.step(f"provisioning to stage {name}"):
                scripts_of = stages[name]
                jobs = [(node, scripts_of.get(node.spec.role, ())) for node in self.lab]
                in_parallel([lambda n=node, s=scripts: self._run_role_scripts(n, s) for node, scripts in jobs if scripts])
            self.done.append(name)

    def run_on(self, nodes: Sequence[Node], script: str, *, settings: dict[str, str] | None = None) -> None:
        """One script on several nodes at once (e.g. the families' sessions.sh on both web nodes)."""
        in_parallel([lambda n=node: self.run_script(n, script, settings=settings) for node in nodes])


def in_parallel(calls: list[Callable[[], T]]) -> list[T]:
    """Run the calls in threads; their results in order. The first failure is raised once all
    have ended."""
    if not calls:
        return []
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
    return [future.result() for future in futures]
