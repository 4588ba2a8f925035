"""Faults, in one place: kill a daemon, freeze a node, cut its link; each registered and undone.

    faults = Faults(lab)
    fault = faults.kill("loadb1", "heartbeat")   # SIGKILL, as a crash: nothing is said to the peer
    faults.freeze("loadb1")                       # a hung host: silent on the LAN, every process stopped
    faults.cut_link("loadb1")                     # its LAN cable pulled (at the switch's side)
    faults.crash("loadb1")                        # power cut; undone by booting it (its rc links)
    faults.partition(["loadb1", "loadb2"])        # the two lose each other, nobody else
    faults.degrade_lan(["loss", "30%"])           # netem on the whole LAN
    faults.deafen("loadb2")                       # it hears nothing; what it sends goes out (one-way loss)
    faults.stall("loadb2", "heartbeat")           # its master control process stopped, its helpers not
    faults.heal(fault)                            # undo one (a scenario's real recovery step)
    faults.heal_all()                             # undo whatever is still active (the fixture's finalizer)

Daemons are killed with commands inside the node (every provider runs those); freezing, crashing
and booting a node, cutting its link, partitions and netem are the provider's (Lab.freeze/thaw/
set_link/crash/boot/isolate/shape_lan): a namespace node's processes
are those of its PID namespace, its cable is its port on the lab's switch. A provider that cannot
yet says so with a LabError.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from lab.errors import LabError
from lab.cluster import NodeSpec
from lab.node import Node
from lab.providers.base import Lab
from lab.wait import poll_until


@dataclass(frozen=True)
class Daemon:
    process: str          # the process name (comm) of each of its processes: `pgrep -x` finds them
    restart: str          # how it comes back when its fault is undone (only if it is not running)
    roles: tuple[str, ...]


DAEMONS = {
    "heartbeat": Daemon("heartbeat", "/etc/init.d/heartbeat start", ("balancer",)),
    # ldirectord is one of heartbeat's resources: only the node holding the resources runs it.
    "ldirectord": Daemon("ldirectord", "if [ \"$(cl_status rscstatus)\" != none ]; then "
                                       "/etc/ha.d/resource.d/ldirectord ldirectord.cf start; fi", ("balancer",)),
    "apache2": Daemon("apache2", "/etc/init.d/apache2 start", ("realserver",)),
}
# The LVS sync daemon is a kernel thread (ipvs-m:0:0, ipvs-b:0:0): it cannot receive SIGKILL.
KERNEL_THREADS = {"sync": "the LVS sync daemon is a kernel thread (ipvs-m:*, ipvs-b:*): no signal stops it; "
                          "only `ipvsadm --stop-daemon` (what LVSSyncDaemonSwap stop runs) does"}


def _daemon(daemon: str) -> Daemon:
    """The daemon a kill names, or a LabError that lists those there are."""
    if daemon not in DAEMONS:
        raise LabError(f"no daemon {daemon!r} to kill", f"one of {sorted(DAEMONS)}")
    return DAEMONS[daemon]


def kill_daemon(node: Node, daemon: str) -> list[int]:
    """SIGKILL every process of `daemon` on `node`; the pids killed. No clean-up runs, as in a crash."""
    if daemon in KERNEL_THREADS:
        raise LabError(f"cannot SIGKILL {daemon} on {node.name}: {KERNEL_THREADS[daemon]}")
    name = _daemon(daemon).process
    pids = [int(p) for p in node.run(["pgrep", "-x", name]).stdout.split()]
    if not pids:
        raise AssertionError(f"{daemon} is not running on {node.name}: nothing to kill")
    node.succeed(["kill", "-KILL", *map(str, pids)])
    left = node.run(["pgrep", "-x", name]).stdout.split()
    survivors = sorted(set(map(int, left)) & set(pids))
    if survivors:
        raise LabError(f"{daemon} processes {survivors} on {node.name} survived SIGKILL")
    return pids


# What a daemon runs besides its own processes, by command line: heartbeat's ResourceManager,
# its message handlers (ip-request-resp, mach_down) and the resource scripts they run. Started by
# heartbeat, but one that was orphaned (reparented, its heartbeat gone) is found only by these.
HELPERS = {"heartbeat": ("/usr/share/heartbeat/", "/usr/lib/heartbeat/", "/etc/ha.d/resource.d/", "/usr/lib/ocf/")}


@dataclass(frozen=True)
class Process:
    pid: int
    parent: int
    name: str   # comm
    line: str   # args


def _processes(node: Node) -> dict[int, Process]:
    """Every live process on the node (its PID namespace; zombies, dead and not yet reaped, left out)."""
    found = {}
    for row in node.succeed(["ps", "-e", "-o", "pid=,ppid=,stat=,comm=,args="]).splitlines():
        fields = row.split(None, 4)
        if len(fields) >= 4 and fields[0].isdigit() and fields[1].isdigit() and not fields[2].startswith("Z"):
            found[int(fields[0])] = Process(int(fields[0]), int(fields[1]), fields[3], (fields[4:] or [""])[0])
    return found


def _descendants(roots: set[int], table: dict[int, Process]) -> set[int]:
    """`roots` (those still there) and every process below them."""
    found = {pid for pid in roots if pid in table}
    while grown := {pid for pid, p in table.items() if p.parent in found} - found:
        found |= grown
    return found


def kill_tree(node: Node, daemon: str) -> list[int]:
    """SIGKILL every process of `daemon` on `node`, every helper of it (HELPERS) and every process
    below them; the pids killed. An operator's hard stop of a daemon stuck mid-takeover:
    heartbeat's ResourceManager and the resource scripts its handlers run would go on without it
    and could bring a resource (the VIP) back up after its stop scripts ran (CI of 2026-12-07:
    the repair after the lossy LAN, heartbeat's own processes SIGKILLed while ip-request-resp
    handlers were queued, ended with both balancers holding the VIP). Each process is stopped
    first, so that none forks unseen while the tree is read again; then all are killed at once."""
    process = _daemon(daemon).process
    helpers = HELPERS.get(daemon, ())
    # other daemons are left to their own stop (the resource scripts' stop the repair runs next):
    # ldirectord runs as `perl -w /etc/ha.d/resource.d/ldirectord ldirectord.cf start`, and a
    # SIGKILL would leave its virtual services in the kernel's table
    others = {d.process for name, d in DAEMONS.items() if name != daemon}
    tree: set[int] = set()
    for _ in range(3):
        table = _processes(node)
        roots = {p.pid for p in table.values() if p.name == process
                 or (p.name not in others and any(path in p.line for path in helpers))}
        found = _descendants(roots | tree, table)
        if not found - tree:
            break
        node.run(["kill", "-STOP", *map(str, sorted(found - tree))])
        tree |= found
    if not tree:
        raise AssertionError(f"{daemon} is not running on {node.name}: nothing to kill")
    node.run(["kill", "-KILL", *map(str, sorted(tree))])

    def gone() -> tuple[bool, list[tuple[int, str]]]:
        table = _processes(node)
        survivors = [(pid, table[pid].line) for pid in sorted(tree) if pid in table]
        return not survivors, survivors

    # SIGKILL is not waited for: each dies when the (emulated) CPU gets to it
    dead, survivors = poll_until(gone, timeout=5, interval=1)
    if not dead:
        raise LabError(f"{daemon}'s processes {survivors} on {node.name} survived SIGKILL")
    return sorted(tree)


DEAF = ["loss", "100%"]  # netem on a node's switch port: it hears nothing, what it sends goes out


# A daemon stalled, not dead (a hung disk, swap, a starved CPU): its main process stopped, its
# helpers still running. heartbeat's master control process decides everything; its read and
# write children go on moving packets, so what arrives meanwhile waits for it, and it sends nothing.
MAIN_PROCESS = {"heartbeat": "heartbeat: master control process"}


def _main_pattern(daemon: str) -> str:
    if daemon not in MAIN_PROCESS:
        raise LabError(f"no main process known for {daemon!r} to stall", f"one of {sorted(MAIN_PROCESS)}")
    return f"^{MAIN_PROCESS[daemon]}"


def stall_daemon(node: Node, daemon: str) -> int:
    """SIGSTOP `daemon`'s main process alone (MAIN_PROCESS); its pid."""
    pids = node.run(["pgrep", "-f", _main_pattern(daemon)]).stdout.split()
    if len(pids) != 1:
        raise AssertionError(f"{daemon} on {node.name}: {len(pids)} processes {MAIN_PROCESS[daemon]!r} {pids}, "
                             "not one to stall")
    node.succeed(["kill", "-STOP", pids[0]])
    return int(pids[0])


def resume_daemon(node: Node, daemon: str) -> None:
    """SIGCONT `daemon`'s main process (gone meanwhile: nothing to undo)."""
    node.run(["pkill", "-CONT", "-f", _main_pattern(daemon)])


def restart_daemon(node: Node, daemon: str) -> None:
    spec = DAEMONS[daemon]
    if node.run(["pgrep", "-x", spec.process]).ok:
        return  # running again (a scenario's own recovery step): nothing to undo
    result = node.run(spec.restart, timeout=300)
    if not result.ok:
        raise LabError(f"could not start {daemon} again on {node.name}:\n{result.describe()}")


@dataclass
class Fault:
    kind: str
    node: str
    at: float                       # time.time() just before the fault was made
    undo: Callable[[], None] = field(repr=False)
    detail: str = ""
    healed_at: float | None = None  # time.time() once undone (Faults.heal)

    def describe(self) -> str:
        return f"{self.kind} on {self.node}" + (f" ({self.detail})" if self.detail else "")


class Faults:
    """The faults a test made, undone in reverse order by heal_all() (each on its own)."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.active: list[Fault] = []
        self.healed: list[Fault] = []

    def _register(self, kind: str, node: str, at: float, undo: Callable[[], None], detail: str = "") -> Fault:
        fault = Fault(kind, node, at, undo, detail)
        self.active.append(fault)
        return fault

    def kill(self, node: str, daemon: str) -> Fault:
        at = time.time()
        pids = kill_daemon(self.lab.node(node), daemon)
        return self._register(f"SIGKILL {daemon}", node, at, lambda: restart_daemon(self.lab.node(node), daemon),
                              f"pids {pids}")

    def freeze(self, node: str) -> Fault:
        at = time.time()
        count = self.lab.freeze(node)
        return self._register("freeze", node, at, lambda: self.lab.thaw(node),
                              f"silent on the LAN, {count} processes stopped")

    def cut_link(self, node: str) -> Fault:
        at = time.time()
        self.lab.set_link(node, up=False)
        return self._register("link down", node, at, lambda: self.lab.set_link(node, up=True))

    def crash(self, node: str) -> Fault:
        at = time.time()
        self.lab.crash(node)
        return self._register("crash (power cut)", node, at, lambda: self.lab.boot(node), "booted again when undone")

    def partition(self, nodes: list[str]) -> Fault:
        """The nodes lose each other; each still reaches every other node of the LAN."""
        at = time.time()
        self.lab.isolate(nodes, on=True)
        return self._register("partition", " | ".join(nodes), at, lambda: self.lab.isolate(nodes, on=False))

    def degrade_lan(self, netem: list[str]) -> Fault:
        at = time.time()
        self.lab.shape_lan(netem)
        return self._register("LAN " + " ".join(netem), "lan", at, lambda: self.lab.shape_lan(None))

    def deafen(self, node: str) -> Fault:
        """The node hears nothing from the LAN (netem loss 100% on its switch port's way out);
        what it sends still reaches everyone: a one-way loss."""
        at = time.time()
        self.lab.shape_lan(DEAF, nodes=[node])
        return self._register("deaf", node, at, lambda: self.lab.shape_lan(None, nodes=[node]),
                              "every frame to it lost")

    def stall(self, node: str, daemon: str) -> Fault:
        """`daemon`'s main process stopped (SIGSTOP), its helpers running on; SIGCONT when undone."""
        at = time.time()
        pid = stall_daemon(self.lab.node(node), daemon)
        return self._register(f"stall {daemon}", node, at, lambda: resume_daemon(self.lab.node(node), daemon),
                              f"pid {pid} stopped")

    def rogue(self, spec: NodeSpec) -> tuple[Node, Fault]:
        """A node that is not the cluster's on its LAN (security scenarios); taken away when undone."""
        at = time.time()
        node = self.lab.add_node(spec)
        return node, self._register("rogue node", spec.name, at, lambda: self.lab.remove_node(spec.name),
                                    f"{spec.address}")

    def heal(self, fault: Fault) -> float:
        """Undo one fault now (a real step of the scenario: thaw, reconnect, start again); when."""
        at = time.time()
        fault.undo()
        fault.healed_at = time.time()
        self.active.remove(fault)
        self.healed.append(fault)
        return at

    def heal_all(self) -> list[str]:
        """Undo every fault still active, newest first; what could not be undone."""
        errors = []
        for fault in reversed(list(self.active)):
            try:
                self.heal(fault)
            except Exception as error:  # each on its own: one failure leaves no other fault in place
                errors.append(f"{fault.describe()}: {type(error).__name__}: {error}")
                if fault in self.active:
                    self.active.remove(fault)
        return errors
