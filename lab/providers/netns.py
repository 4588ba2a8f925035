"""netns provider: each node is a bundle of Linux namespaces on the running kernel.

A node = its own network namespace (eth0 on the lab LAN), UTS (hostname), IPC, PID and
mount namespaces, and a private writable overlay of the Debian node image as its root.
The LAN's bridge lives in the lab's own switch namespace, never in the caller's.
Commands enter a node through the PID recorded when it started (nsenter -t PID),
never by searching the process list.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import requests
import urllib3
from pyroute2 import IPRoute, netns

from lab import log
from lab.cluster import Cluster, NodeSpec
from lab.errors import LabError
from lab.proc import owner_alive, owner_record, starttime
from lab.node import Node, Result
from lab.providers.base import POWERED_OFF, HttpReply, Lab, Provider, port_faults
from lab.providers.nodeshell import NodeShell, ShellGone
from lab.runtime import detect, image
from lab.runtime import libvirt_jail as jail

RUN_DIR = Path("/run/lvslab")
PREFIX = "lvslab-"
HERE = Path(__file__).parent
NODE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "TERM": "dumb",
}
CLONE_NEWNET = 0x40000000
# Node commands go through a shell kept inside each node (lab/providers/nodeshell.py);
# LVSLAB_KEEP_SHELL=0 makes every command a process of its own, as before (to compare).
KEEP_SHELL = os.environ.get("LVSLAB_KEEP_SHELL", "1") != "0"
# HTTPS through the VIP reaches self-signed certificates made at provisioning: no CA to verify.
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)



class NetnsNode(Node):
    def __init__(self, spec: NodeSpec, pid: int) -> None:
        super().__init__(spec)
        self.pid = pid
        self.crashed = False  # NetnsLab.crash: its pid is dead (and may be reused): nothing may enter it
        self.frozen = False  # NetnsLab.freeze: a shell kept inside it is stopped too
        self._shell: NodeShell | None = None  # lab/providers/nodeshell.py

    def close_shell(self) -> None:
        if self._shell is not None:
            self._shell.close()
            self._shell = None

    def _kept_shell(self, stdin: bytes | None) -> NodeShell | None:
        """The shell kept inside the node, when a command may use it now (lab/providers/nodeshell.py)."""
        if stdin is not None or self.frozen or not KEEP_SHELL:
            return None
        if self._shell is not None and (self._shell.pid != self.pid or self._shell.proc.poll() is not None):
            self.close_shell()  # booted again (a new init), or the shell died with its node
        if self._shell is None:
            self._shell = NodeShell(self._enter(), self.pid, NODE_ENV)
        return self._shell

    def _enter(self) -> list[str]:
        return ["nsenter", "-t", str(self.pid), "-m", "-u", "-i", "-n", "-p", "-r", "-w", "--"]

    def shell_argv(self) -> list[str]:
        return [*self._enter(), "/bin/bash", "--norc", "-i"]

    def _execute(self, script: str, *, stdin: bytes | None, timeout: float, env: dict[str, str]) -> Result:
        if self.crashed:  # a powered-off machine answers nothing
            return Result(self.name, script, 255, "", f"{self.name} {POWERED_OFF}", 0.0)
        shell = self._kept_shell(stdin)
        if shell is not None and shell.lock.acquire(blocking=False):
            try:
                started = time.monotonic()
                rc, stdout, stderr = shell.run(script, timeout=timeout, env=env)
                if rc == 124 and shell.proc.poll() is not None:  # timed out: the shell is gone (_kept_shell replaces it)
                    stderr += f"\n[lvslab] killed after {timeout:.0f} s timeout"
                return Result(self.name, script, rc, stdout, stderr, time.monotonic() - started)
            except ShellGone as gone:
                self.close_shell()
                if gone.sent:  # it may have run: never run it twice
                    return Result(self.name, script, 255, "", f"[lvslab] {gone}", time.monotonic() - started)
                # not sent: it runs the other way, below
            finally:
                shell.lock.release()
        argv = [*self._enter(), "/bin/sh", "-c", script]
        # Output goes to files, not pipes: a daemon started by the command keeps its
        # inherited stdout open forever, and reading a pipe to EOF would hang.
        with tempfile.TemporaryFile(dir="/dev/shm") as out, tempfile.TemporaryFile(dir="/dev/shm") as err:
            started = time.monotonic()
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                    stdout=out, stderr=err, env={**NODE_ENV, **env}, start_new_session=True)
            try:
                proc.communicate(stdin, timeout=timeout)
                rc = proc.returncode
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                rc = 124
            seconds = time.monotonic() - started
            out.seek(0)
            err.seek(0)
            stderr = err.read().decode(errors="replace")
            if rc == 124:
                stderr += f"\n[lvslab] killed after {timeout:.0f} s timeout"
            return Result(self.name, script, rc, out.read().decode(errors="replace"), stderr, seconds)


def _enter_netns(path: str) -> None:
    """Thread initializer: move this worker thread (only) into a node's network namespace."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns({path}) failed")
    finally:
        os.close(fd)


class NetnsLab(Lab):
    provider_name = "netns"

    def __init__(self, cluster: Cluster, name: str, image_root: Path) -> None:
        super().__init__(cluster, name)
        self.image_root = image_root
        self.dir = RUN_DIR / name
        self.state: dict = {"name": name, "nodes": {}, "netns": [], **owner_record()}
        self._http: concurrent.futures.ThreadPoolExecutor | None = None
        self._netlink: dict[str, concurrent.futures.ThreadPoolExecutor] = {}
        self.crashed: set[str] = set()
        self._netlink_lock = threading.Lock()

    def ns_name(self, node: str) -> str:
        return f"{self.name}-{node}"

    def _save_state(self) -> None:
        # Atomically: `lvslab clean` and other runs may read it at any moment.
        partial = self.dir / "state.json.partial"
        partial.write_text(json.dumps(self.state, indent=2))
        os.replace(partial, self.dir / "state.json")

    # --- start ------------------------------------------------------------------------
    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=False)
        self._save_state()
        with log.step(f"switch: bridge in namespace {self.ns_name('switch')}"):
            netns.create(self.ns_name("switch"))
            self.state["netns"].append(self.ns_name("switch"))
            self._save_state()
            with IPRoute(netns=self.ns_name("switch")) as ipr:
                ipr.link("add", ifname="br0", kind="bridge")
                ipr.link("set", index=ipr.link_lookup(ifname="br0")[0], state="up")
        with log.step(f"nodes: {', '.join(n.name for n in self.cluster.nodes)}"):
            spawned = {spec.name: self._spawn(spec) for spec in self.cluster.nodes}
            for spec in self.cluster.nodes:
                self.nodes[spec.name] = NetnsNode(spec, self._await_init(spec.name, spawned[spec.name]))
        with log.step("network: eth0 of every node on the LAN"):
            self._wire()

    def _spawn(self, spec: NodeSpec) -> subprocess.Popen:
        node_dir = self.dir / spec.name
        for sub in ("upper/etc", "upper/usr/lib/lvslab", "work", "root"):
            (node_dir / sub).mkdir(parents=True, exist_ok=True)  # exists when a crashed node boots again
        (node_dir / "upper/etc/hostname").write_text(f"{spec.name}\n")
        hosts = ["127.0.0.1\tlocalhost", *self.cluster.hosts_lines()]
        (node_dir / "upper/etc/hosts").write_text("\n".join(hosts) + "\n")
        shutil.copy(HERE / "netns-boot.sh", node_dir / "upper/usr/lib/lvslab/boot")
        modules = Path("/lib/modules") / os.uname().release
        console = (node_dir / "console.log").open("ab")  # a rebooted node's console follows the first
        # --kill-child: if unshare dies, the node's init gets SIGKILL (and with it the whole node).
        argv = ["unshare", "--net", "--uts", "--ipc", "--mount", "--pid", "--fork", "--kill-child",
                "--propagation", "private",
                "--", "/bin/sh", str(HERE / "netns-node.sh"), spec.name, str(self.image_root), str(node_dir),
                str(modules)]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=console, stderr=console,
                                start_new_session=True)
        # Recorded at once, so an interrupt before the node is ready still finds it.
        self.state["nodes"].setdefault(spec.name, {}).update(unshare=proc.pid, unshare_start=starttime(proc.pid))
        self._save_state()
        return proc

    def _await_init(self, name: str, unshare: subprocess.Popen, timeout: float = 60) -> int:
        """The node's init (PID 1 inside) is unshare's only child; record its host PID."""
        node_dir = self.dir / name
        deadline = time.monotonic() + timeout
        while not (node_dir / "ready").exists():
            if unshare.poll() is not None or time.monotonic() > deadline:
                console = (node_dir / "console.log").read_text(errors="replace")
                raise LabError(f"node {name} did not start (unshare exit {unshare.returncode}):\n{console}",
                               "check that the image and kernel support overlayfs and namespaces")
            time.sleep(0.05)
        children = Path(f"/proc/{unshare.pid}/task/{unshare.pid}/children").read_text().split()
        pid = int(children[0])
        self.state["nodes"][name].update(pid=pid, starttime=starttime(pid))
        netns.attach(self.ns_name(name), pid)
        if self.ns_name(name) not in self.state["netns"]:
            self.state["netns"].append(self.ns_name(name))
        self._save_state()
        return pid

    def _wire(self) -> None:
        for spec in self.cluster.nodes:
            self._wire_node(spec)
        self._save_state()

    def _wire_node(self, spec: NodeSpec) -> None:
        """The node's cable: a veth pair, its switch end (named after the node) on the bridge, its
        own end eth0 with the node's addresses (what /etc/network/interfaces does on a VM)."""
        # A rebooted node keeps its NIC's MAC, as a machine does (its peers' ARP caches stay right).
        mac = self.state["nodes"][spec.name].get("mac")
        with IPRoute(netns=self.ns_name("switch")) as sw:
            bridge = sw.link_lookup(ifname="br0")[0]
            sw.link("add", ifname=spec.name, kind="veth",
                    peer={"ifname": self.cluster.interface, "net_ns_fd": self.ns_name(spec.name),
                          **({"address": mac} if mac else {})})
            port = sw.link_lookup(ifname=spec.name)[0]
            sw.link("set", index=port, master=bridge, state="up")
        with IPRoute(netns=self.ns_name(spec.name)) as ipr:
            ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
            eth = ipr.link_lookup(ifname=self.cluster.interface)[0]
            self.state["nodes"][spec.name]["mac"] = ipr.get_links(eth)[0].get_attr("IFLA_ADDRESS")
            for address in (spec.address, *spec.aliases):
                ipr.addr("add", index=eth, address=address, prefixlen=self.cluster.prefixlen,
                         broadcast=self.cluster.broadcast)
            ipr.link("set", index=eth, state="up")

    # --- use --------------------------------------------------------------------------
    def _in_client(self) -> concurrent.futures.ThreadPoolExecutor:
        """A worker thread living in the client's network namespace (sockets made there stay there)."""
        if self._http is None:
            client = self.cluster.by_role("client")[0].name
            self._http = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, initializer=_enter_netns, initargs=(f"/run/netns/{self.ns_name(client)}",))
        return self._http

    def http_get(self, url: str, *, timeout: float = 5.0, source: str | None = None,
                 cookies: dict[str, str] | None = None) -> HttpReply:
        return self._in_client().submit(_get, url, timeout, source, cookies).result()

    def client_socket(self, address: str, port: int, *, source: str | None = None, timeout: float = 10.0,
                      receive_buffer: int | None = None) -> socket.socket:
        return self._in_client().submit(_connect, address, port, source, timeout, receive_buffer).result()

    def lan_addresses(self, node: str, *, timeout: float = 3.0) -> list[str] | None:
        """Read by netlink from a thread living in the node's network namespace: no process is
        started (a fork+exec costs 40-80 ms under TCG and would slow the cluster being measured).
        A crashed node holds no address: it is off. A reading waits up to 10 s whatever `timeout`
        says (the limit is for readings that go through a process: ssh, the agent)."""
        with self._netlink_lock:
            if node in self.crashed:
                return []
            if node not in self._netlink:
                self._netlink[node] = concurrent.futures.ThreadPoolExecutor(
                    max_workers=1, initializer=_enter_netns, initargs=(f"/run/netns/{self.ns_name(node)}",))
            pool = self._netlink[node]
        return pool.submit(_addresses, self.cluster.interface).result(timeout=10)

    def _drop_netlink(self, node: str) -> None:
        """Let go of the thread living in the node's netns (it holds the namespace open)."""
        with self._netlink_lock:
            pool = self._netlink.pop(node, None)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    # --- logs: read from this side, through the node's root (no process started) ---------
    def _path(self, node: str, path: str) -> Path:
        return Path(f"/proc/{self.nodes[node].pid}/root{path}")  # type: ignore[attr-defined]

    def log_sizes(self, node: str, paths: tuple[str, ...]) -> list[int] | None:
        if node in self.crashed:
            return None
        sizes = []
        for path in paths:
            try:
                sizes.append(self._path(node, path).stat().st_size)
            except FileNotFoundError:
                sizes.append(0)
            except OSError:
                return None
        return sizes

    def logs_since(self, node: str, paths: tuple[str, ...], sizes: list[int]) -> str:
        if node in self.crashed:
            return ""
        parts = []
        for path, size in zip(paths, sizes):
            try:
                with self._path(node, path).open("rb") as log_file:
                    log_file.seek(size)
                    parts.append(log_file.read().decode(errors="replace"))
            except OSError:
                pass
        return "".join(parts)

    def kernel_mark(self) -> dict[str, int]:
        """One kernel for every node: the sequence number of its newest log record."""
        records = _kmsg()
        return {"kernel": records[-1][0] if records else -1}

    def kernel_since(self, mark: dict[str, int]) -> dict[str, str]:
        after = mark.get("kernel", -1)
        return {"kernel": "\n".join(text for seq, text in _kmsg() if seq > after)}

    # --- faults -----------------------------------------------------------------------
    def node_pids(self, name: str) -> list[int]:
        """Every process of a node: those in the PID namespace of its recorded init (never a name search)."""
        if name in self.crashed:
            raise LabError(f"{name} is crashed (powered off): it has no processes", f"lvslab fault boot {name}")
        init = self.nodes[name].pid  # type: ignore[attr-defined]
        return pids_in_namespace(os.readlink(f"/proc/{init}/ns/pid"))

    def freeze(self, node: str) -> int:
        """A hung host as it looks from outside: its switch port disabled (the bridge forwards no
        frame to or from it; its link stays up, so nobody sees a carrier change), then SIGSTOP for
        each process of the node, its init too, until a pass finds none left running (a process may
        fork while we go). Stopping the processes alone would not do: the namespace's kernel runs
        on, answering ARP for the VIP and forwarding through IPVS, as a hung host's would not (so
        `virsh suspend` on Vagrant). The harness's kept shell leaves first: until the thaw each
        command is a process of its own."""
        target = self.nodes[node]
        target.frozen = True  # type: ignore[attr-defined]
        target.close_shell()  # type: ignore[attr-defined]
        self._port_state(node, "disabled")
        stopped: set[int] = set()
        for _ in range(20):
            fresh = [pid for pid in self.node_pids(node) if pid not in stopped]
            if not fresh:
                return len(stopped)
            for pid in fresh:
                try:
                    os.kill(pid, signal.SIGSTOP)
                    stopped.add(pid)
                except ProcessLookupError:
                    pass
        self.thaw(node)
        raise LabError(f"{node} kept starting processes while being frozen ({len(stopped)} stopped; thawed again)")

    def thaw(self, node: str) -> None:
        for pid in self.node_pids(node):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self._port_state(node, "forwarding")
        self.nodes[node].frozen = False  # type: ignore[attr-defined]

    def _port_state(self, node: str, state: str) -> None:
        """The bridge's state of the node's switch port (no STP here: it is ours to set)."""
        _in_switch(self, ["bridge", "link", "set", "dev", node, "state", {"disabled": "0", "forwarding": "3"}[state]])

    def set_link(self, node: str, *, up: bool) -> None:
        """The node's port on the switch (the veth end named after it): the node sees NO-CARRIER."""
        with IPRoute(netns=self.ns_name("switch")) as sw:
            sw.link("set", index=sw.link_lookup(ifname=node)[0], state="up" if up else "down")

    def crash(self, node: str) -> None:
        """A power cut as it looks from outside: the node's cable is gone from the switch at once,
        every process of it is SIGKILLed (its init, so its PID namespace dies), and what a powered-off
        host loses goes too: its network namespace (addresses, VIP, IPVS table, routes, sysctls). Its
        disk (the overlay's upper layer) stays, as a disk does."""
        if node == self.cluster.by_role("client")[0].name:
            raise LabError("the client node cannot be crashed: it is the lab's observer", "crash a balancer or a real server")
        with IPRoute(netns=self.ns_name("switch")) as sw:
            ports = sw.link_lookup(ifname=node)
            if ports:
                sw.link("del", index=ports[0])  # both ends of the veth: the node is off the LAN
        with self._netlink_lock:
            self.crashed.add(node)  # from now on it lists no address and runs nothing
        self.nodes[node].crashed = True  # type: ignore[attr-defined]
        self.nodes[node].close_shell()  # type: ignore[attr-defined]
        self._drop_netlink(node)
        entry = self.state["nodes"][node]
        errors = destroy_recorded({"nodes": {node: entry}, "netns": [self.ns_name(node)]})
        if errors:
            raise LabError(f"crashing {node} left it half up:\n" + "\n".join(errors), "lvslab down; lvslab up")

    def boot(self, node: str) -> None:
        """Power the crashed node on: a new init on its kept disk, a fresh network namespace cabled
        to the switch, then the node's own boot scripts (BOOT: what Debian runs at boot, rc links
        deciding which daemons start). Returns when the boot scripts have run."""
        if node not in self.crashed:
            raise LabError(f"{node} is not crashed: nothing to boot")
        spec = self.cluster.node(node)
        (self.dir / node / "ready").unlink(missing_ok=True)
        pid = self._await_init(node, self._spawn(spec))
        self.nodes[node].pid = pid  # type: ignore[attr-defined]  # Node objects held by tests follow
        self.nodes[node].crashed = False  # type: ignore[attr-defined]
        self._wire_node(spec)
        self._save_state()
        self._drop_netlink(node)
        with self._netlink_lock:
            self.crashed.discard(node)
        result = self.nodes[node].run(BOOT, timeout=600)
        log.info(f"{node} booted:\n{result.stdout.strip()}")
        if not result.ok:
            raise LabError(f"{node}'s boot scripts failed:\n{result.describe()}")

    def add_node(self, spec: NodeSpec) -> Node:
        """A node outside the cluster (a rogue on the LAN), started and cabled like the others."""
        if spec.name in self.nodes:
            raise LabError(f"lab {self.name} already has a node {spec.name}")
        pid = self._await_init(spec.name, self._spawn(spec))
        self.nodes[spec.name] = NetnsNode(spec, pid)
        self._wire_node(spec)
        self._save_state()
        return self.nodes[spec.name]

    def remove_node(self, name: str) -> None:
        """Take away a node add_node made: off the LAN, every process killed, its namespaces gone."""
        if any(spec.name == name for spec in self.cluster.nodes):
            raise LabError(f"{name} is one of the cluster's nodes: crash it instead")
        if name in self.nodes:
            self.nodes[name].close_shell()  # type: ignore[attr-defined]
        with IPRoute(netns=self.ns_name("switch")) as sw:
            for port in sw.link_lookup(ifname=name):
                sw.link("del", index=port)
        self._drop_netlink(name)
        errors = destroy_recorded({"nodes": {name: self.state["nodes"][name]}, "netns": [self.ns_name(name)]})
        self.nodes.pop(name, None)
        self.state["nodes"].pop(name, None)
        if self.ns_name(name) in self.state["netns"]:
            self.state["netns"].remove(self.ns_name(name))
        self._save_state()
        shutil.rmtree(self.dir / name, ignore_errors=True)
        if errors:
            raise LabError(f"removing {name} left things behind:\n" + "\n".join(errors), "run `lvslab clean`")

    def isolate(self, nodes: list[str], *, on: bool) -> None:
        """Mark the nodes' switch ports isolated (on) or not: isolated ports reach every other port
        but not each other (the bridge's port isolation), so the nodes lose each other only."""
        for node in nodes:
            _in_switch(self, ["bridge", "link", "set", "dev", node, "isolated", "on" if on else "off"])

    def shape_lan(self, netem: list[str] | None, nodes: list[str] | None = None) -> None:
        """netem on every switch port's way out (each frame between two nodes crosses one), e.g.
        ["loss", "30%"], or on the ports of `nodes` only (what they hear; what they send is
        untouched); None removes it."""
        subprocess.run(["modprobe", "sch_netem"], capture_output=True)
        for spec in self.cluster.nodes:
            if nodes is not None and spec.name not in nodes:
                continue
            if netem is None:
                _in_switch(self, ["tc", "qdisc", "del", "dev", spec.name, "root"], missing_ok=True)
            else:
                _in_switch(self, ["tc", "qdisc", "replace", "dev", spec.name, "root", "netem", *netem])

    def faults_in_place(self) -> list[str]:
        """Read from the kernel, not from the harness's bookkeeping: node processes stopped (state
        T), crashed nodes, and in the switch's namespace each port's state, bridge port isolation
        and qdisc."""
        left = [f"{name} is crashed (powered off)" for name in sorted(self.crashed)]
        left += [f"{name} is not one of the cluster's nodes" for name in self.nodes
                 if all(spec.name != name for spec in self.cluster.nodes)]
        for name in self.nodes:
            if name in self.crashed:
                continue
            stopped = [pid for pid in self.node_pids(name) if _process_state(pid) == "T"]
            if stopped:
                left.append(f"{name} has {len(stopped)} stopped processes (frozen)")
        links = json.loads(_in_switch(self, ["ip", "-j", "-d", "link", "show"]))
        qdiscs = json.loads(_in_switch(self, ["tc", "-j", "qdisc", "show"]))
        for name in self.nodes:
            left += port_faults(name, [link for link in links if link.get("ifname") == name],
                                [q for q in qdiscs if q.get("dev") == name])
        return left

    # --- teardown ---------------------------------------------------------------------
    def destroy(self) -> None:
        for each in self.nodes.values():
            each.close_shell()  # type: ignore[attr-defined]
        if self._http is not None:
            self._http.shutdown(wait=False, cancel_futures=True)
        for pool in self._netlink.values():
            pool.shutdown(wait=False, cancel_futures=True)
        errors = destroy_recorded(self.state)
        shutil.rmtree(self.dir, ignore_errors=True)
        if errors:
            raise LabError(f"teardown of {self.name} left things behind:\n" + "\n".join(errors),
                           "run `lvslab clean`")


# What a Debian boot runs (sysvinit order): modules, sysctl.conf, /etc/network/interfaces (the
# real servers' lo:0), then every rc2.d start link; hwclock.sh is left out (a namespace must not
# set the machine's clock). The provisioning leaves only the node's own daemons linked (common.sh).
BOOT = ("rc=0; for s in /etc/rcS.d/S*kmod /etc/rcS.d/S*procps /etc/rcS.d/S*networking /etc/rc2.d/S*; do "
        "[ -x \"$s\" ] || continue; echo \"boot: $s start\"; "
        "\"$s\" start || { echo \"boot: $s failed ($?)\"; rc=1; }; done; exit $rc")


def kmsg_record(raw: bytes) -> tuple[int, str] | None:
    """One /dev/kmsg record, "PRIORITY,SEQUENCE,MICROSECONDS,FLAGS;TEXT" (then continuation lines
    starting with a space), as (sequence number, text)."""
    head, _, text = raw.decode(errors="replace").partition(";")
    fields = head.split(",")
    return (int(fields[1]), text.split("\n")[0]) if len(fields) > 1 and fields[1].isdigit() else None


def _kmsg() -> list[tuple[int, str]]:
    """The kernel's log records now, as (sequence number, text), read from /dev/kmsg without blocking."""
    records = []
    try:
        fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return records
    try:
        while True:
            try:
                raw = os.read(fd, 8192)
            except BlockingIOError:
                break
            except BrokenPipeError:  # a record was overwritten while reading: go on with the next
                continue
            except OSError:
                break
            record = kmsg_record(raw)
            if record is not None:
                records.append(record)
    finally:
        os.close(fd)
    return records


def _process_state(pid: int) -> str:
    """A process's state letter from /proc/PID/stat (T: stopped), "" once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def _in_switch(lab: NetnsLab, argv: list[str], *, missing_ok: bool = False) -> str:
    """Run argv in the lab's switch namespace; its output."""
    result = subprocess.run(["nsenter", f"--net=/run/netns/{lab.ns_name('switch')}", "--", *argv],
                            capture_output=True, text=True)
    if result.returncode != 0 and not (missing_ok and ("No such file" in result.stderr or "Cannot find" in result.stderr
                                                       or "Cannot delete qdisc with handle of zero" in result.stderr)):
        raise LabError(f"{' '.join(argv)} in the lab's switch failed: {result.stderr.strip()}",
                       "the kernel needs bridge port isolation (4.18+) and sch_netem")
    return result.stdout


class _SourceAdapter(requests.adapters.HTTPAdapter):
    """Connections from one of the client's addresses (several distinct clients on one node)."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:  # noqa: ANN002,ANN003
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def _connect(address: str, port: int, source: str | None, timeout: float, receive_buffer: int | None
             ) -> socket.socket:
    conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer:  # before connect, so the window is small from the start
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    if source:
        conn.bind((source, 0))
    conn.settimeout(timeout)
    conn.connect((address, port))
    return conn


def _get(url: str, timeout: float, source: str | None, cookies: dict[str, str] | None) -> HttpReply:
    started = time.monotonic()
    try:
        with requests.Session() as session:  # a new TCP connection per request, as a new browser would
            if source:
                session.mount("http://", _SourceAdapter(source))
                session.mount("https://", _SourceAdapter(source))
            reply = session.get(url, timeout=timeout, headers={"Connection": "close"}, cookies=cookies or {},
                                verify=False)
        return HttpReply(True, reply.status_code, reply.text, "", time.monotonic() - started,
                         dict(reply.cookies))
    except requests.RequestException as exc:
        return HttpReply(False, None, "", f"{type(exc).__name__}: {exc}", time.monotonic() - started)


_thread_netlink = threading.local()


def _addresses(interface: str) -> list[str] | None:
    """In a thread that entered a node's netns: the IPv4 addresses of `interface` (one netlink
    socket per thread, opened there so it stays in that namespace)."""
    if not hasattr(_thread_netlink, "ipr"):
        _thread_netlink.ipr = IPRoute()
    ipr = _thread_netlink.ipr
    index = ipr.link_lookup(ifname=interface)
    if not index:
        return None
    return [a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(family=socket.AF_INET, index=index[0])]


def pids_in_namespace(pid_ns: str) -> list[int]:
    """Host PIDs whose PID namespace is `pid_ns` (as /proc/PID/ns/pid reads, e.g. pid:[4026532301])."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/ns/pid") == pid_ns:
                    found.append(int(entry))
            except OSError:  # gone meanwhile
                pass
    return found


def destroy_recorded(state: dict) -> list[str]:
    """Kill each recorded node init (its PID namespace dies with it), then drop the netns.

    Each item is handled on its own so one failure does not leave the rest behind.
    """
    errors: list[str] = []
    nodes = state.get("nodes", {})
    alive: list[tuple[str, int]] = []
    for name, node in nodes.items():
        for pid_key, start_key in (("pid", "starttime"), ("unshare", "unshare_start")):
            pid = node.get(pid_key)
            if pid and starttime(pid) == node.get(start_key):
                try:
                    os.kill(pid, signal.SIGKILL)
                    alive.append((name, pid))
                except ProcessLookupError:
                    pass
    deadline = time.monotonic() + 15
    for name, pid in alive:
        while starttime(pid) is not None and time.monotonic() < deadline:
            try:  # reap unshare if it is our child; harmless otherwise
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.05)
        if starttime(pid) is not None:
            errors.append(f"node {name}: process {pid} still alive after SIGKILL")
    for ns in state.get("netns", []):
        if not ns.startswith(PREFIX):
            continue
        try:
            netns.remove(ns)
        except FileNotFoundError:
            pass
        except OSError as exc:
            errors.append(f"netns {ns}: {exc}")
    return errors


def clean_all(force: bool = False) -> list[str]:
    """Undo whatever crashed runs left: recorded nodes, lvslab-* namespaces, run dirs.

    A lab whose owner (the pytest run or agent that made it) is alive is left alone unless forced.
    """
    report: list[str] = []
    live: set[str] = set()
    if RUN_DIR.is_dir():
        for state_file in sorted(RUN_DIR.glob("*/state.json")):
            state = json.loads(state_file.read_text())
            if owner_alive(state) and not force:
                live.add(state["name"])
                report.append(f"left lab {state['name']} alone: its run (pid {state['owner']}) is still going")
                continue
            report.append(f"lab {state['name']}: {len(state.get('nodes', {}))} node(s)")
            report += destroy_recorded(state)
            shutil.rmtree(state_file.parent, ignore_errors=True)
    for ns in netns.listnetns():
        if ns.startswith(jail.PREFIX):  # a Vagrant lab's jail: lab.runtime.libvirt_jail.clean_all
            continue
        if ns.startswith(PREFIX) and not any(ns.startswith(f"{name}-") for name in live):
            netns.remove(ns)
            report.append(f"removed netns {ns}")
    return report


class NetnsProvider(Provider):
    name = "netns"

    def check_host(self) -> None:
        if os.geteuid() != 0:
            raise LabError("the netns lab needs root (namespaces, mounts, IPVS)",
                           "run it as root, e.g. `sudo pytest scenarios/ --lab=netns`")
        detect.require_ipvs()
        for tool in ("unshare", "nsenter", "mount"):
            if shutil.which(tool) is None:
                raise LabError(f"{tool} is missing", "apt-get install util-linux mount")

    def create(self, cluster: Cluster, *, lab_name: str | None = None) -> Lab:
        name = lab_name or f"{PREFIX}{secrets.token_hex(2)}"
        if not name.startswith(PREFIX):
            raise LabError(f"lab name {name!r} must start with {PREFIX!r}", f"use e.g. {PREFIX}mine")
        return NetnsLab(cluster, name, image.image_root())
