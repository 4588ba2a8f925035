"""The software that runs the balancer pair, as data: the tutorial's heartbeat + ldirectord,
keepalived, or Pacemaker + Corosync (--lab-stack). Scenarios state the tutorial's behaviours once; each stack says how
to start and stop it, how to read its own view of the pair, and where it legitimately behaves
otherwise than the tutorial documents (each such place is a DIFFERS row in the report).
"""

from __future__ import annotations

from lab.cluster import Cluster
from lab.stacks.base import Stack, StackView
from lab.stacks.heartbeat import Heartbeat
from lab.stacks.keepalived import Keepalived
from lab.stacks.pacemaker import Pacemaker

STACKS: dict[str, Stack] = {stack.name: stack for stack in (Heartbeat(), Keepalived(), Pacemaker())}


def stack_of(cluster: Cluster) -> Stack:
    return STACKS[cluster.stack_name]


__all__ = ["STACKS", "Stack", "StackView", "stack_of"]
