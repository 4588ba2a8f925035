"""A lab that is already up (`lvslab up`), reached through its agent (lab/agent.py).

RemoteLab and RemoteNode keep the provider contract, so the CLI and `pytest --lab-reuse`
drive a running lab with the same verbs as a fresh one.
"""

from __future__ import annotations

import base64
import dataclasses
import fcntl
import itertools
import json
import os
import secrets
import socket
import threading
from dataclasses import fields
from pathlib import Path
from typing import IO, Iterator

from lab import wire
from lab.cluster import Cluster, load_cluster
from lab.errors import LabError
from lab.node import Node, Result
from lab.providers.base import HttpReply, Lab
from lab.proc import starttime

UP_DIR = Path("/run/lvslab/up")
PORTS = 4  # channels to the agent: one shell does not block `lvslab status` in another terminal
DEFAULT_NAME = "lvslab-up"


def lab_dir(name: str) -> Path:
    return UP_DIR / name


def read_info(name: str) -> dict | None:
    """The record of a lab that is up, or None (a record whose process died counts as none)."""
    info_file = lab_dir(name) / "info.json"
    if not info_file.is_file():
        return None
    info = json.loads(info_file.read_text())
    return info if starttime(info["pid"]) == info["starttime"] else None


class AgentClient:
    """One channel to the agent, held (flock) for as long as this client lives."""

    def __init__(self, name: str, timeout: float = 900) -> None:
        if read_info(name) is None:
            raise LabError(f"no lab {name!r} is up", "start one with `lvslab up`")
        folder = lab_dir(name)
        self._lock_file: IO[str] | None = None
        for index in itertools.chain(range(PORTS), [0]):  # a free channel, else wait for the first
            lock = (folder / f"ctl{index}.lock").open("w")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | (fcntl.LOCK_NB if index < PORTS else 0))
            except BlockingIOError:
                lock.close()
                continue
            self._lock_file, self.index = lock, index
            break
        if self._lock_file is None:
            self._lock_file = (folder / "ctl0.lock").open("w")
            fcntl.flock(self._lock_file, fcntl.LOCK_EX)
            self.index = 0
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        self.sock.connect(str(folder / f"ctl{self.index}.sock"))
        self.stream = self.sock.makefile("rwb", buffering=0)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._buffer = b""
        nonce = secrets.token_hex(8)
        self._send({"id": 0, "op": "hello", "nonce": nonce})
        while True:  # skip whatever an earlier, interrupted client left in the channel
            message = self.receive()
            if message.get("op") == "hello" and message.get("nonce") == nonce:
                self.lab_name = message["lab"]
                self.interface = message.get("interface")  # the LAN's name in the nodes (eth1 on VMs)
                self.stack = message.get("stack", "heartbeat")  # what runs its balancer pair
                break

    def _send(self, message: dict) -> None:
        wire.send(self.stream, message)

    def receive(self) -> dict:
        while True:
            message, self._buffer = wire.next_message(self._buffer)
            if message is not None:
                return message
            chunk = self.sock.recv(65536)
            if not chunk:
                raise LabError("the lab's agent closed the channel", "see `lvslab status`; restart with `lvslab up`")
            self._buffer += chunk

    def request(self, op: str, **arguments: object) -> dict:
        with self._lock:
            rid = next(self._ids)
            self._send({"id": rid, "op": op, **arguments})
            while True:
                reply = self.receive()
                if reply.get("id") == rid:
                    break
        if "agent_error" in reply:
            raise LabError(f"the lab's agent could not {op}: {reply['agent_error']}")
        return reply

    def shell_frames(self, node: str, term: str) -> Iterator[dict]:
        rid = next(self._ids)
        self._send({"id": rid, "op": "shell", "node": node, "term": term})
        while True:
            reply = self.receive()
            if reply.get("id") == rid:
                yield reply
                if reply.get("op") == "exit" or "agent_error" in reply:
                    return

    def send_stdin(self, data: bytes) -> None:
        self._send({"op": "stdin", "data": base64.b64encode(data).decode()})

    def close(self) -> None:
        self.sock.close()
        if self._lock_file:
            self._lock_file.close()


class RemoteNode(Node):
    def __init__(self, spec, client: AgentClient) -> None:  # noqa: ANN001
        super().__init__(spec)
        self.client = client

    def _execute(self, script: str, *, stdin: bytes | None, timeout: float, env: dict[str, str]) -> Result:
        reply = self.client.request("exec", node=self.name, command=script, timeout=timeout, env=env,
                                    stdin=base64.b64encode(stdin).decode() if stdin is not None else None)
        return Result(**{f.name: reply[f.name] for f in fields(Result)})


class RemoteLab(Lab):
    provider_name = "remote"

    def __init__(self, name: str = DEFAULT_NAME, cluster: Cluster | None = None) -> None:
        super().__init__(cluster or load_cluster(), name)
        self.client: AgentClient | None = None

    def start(self) -> None:
        self.client = AgentClient(self.name)
        self.name = self.client.lab_name
        if self.client.interface and self.client.interface != self.cluster.interface:
            self.cluster = dataclasses.replace(self.cluster, interface=self.client.interface)
        if self.client.stack != self.cluster.stack_name:  # the lab's own, whatever --lab-stack said
            self.cluster = dataclasses.replace(self.cluster, stack_name=self.client.stack)
        for spec in self.cluster.nodes:
            self.nodes[spec.name] = RemoteNode(spec, self.client)

    def destroy(self) -> None:
        """Leaves the lab up (it belongs to `lvslab up`/`down`); only lets go of the channel."""
        if self.client:
            self.client.close()

    def http_get(self, url: str, *, timeout: float = 5.0, source: str | None = None,
                 cookies: dict[str, str] | None = None) -> HttpReply:
        assert self.client is not None
        reply = self.client.request("http", url=url, timeout=timeout, source=source, cookies=cookies)
        return HttpReply(**{f.name: reply[f.name] for f in fields(HttpReply)})

    def freeze(self, node: str) -> int:
        assert self.client is not None
        return self.client.request("fault", verb="freeze", node=node)["stopped"]

    def thaw(self, node: str) -> None:
        assert self.client is not None
        self.client.request("fault", verb="thaw", node=node)

    def set_link(self, node: str, *, up: bool) -> None:
        assert self.client is not None
        self.client.request("fault", verb="link-up" if up else "link-down", node=node)

    def crash(self, node: str) -> None:
        assert self.client is not None
        self.client.request("fault", verb="crash", node=node)

    def boot(self, node: str) -> None:
        assert self.client is not None
        self.client.request("fault", verb="boot", node=node)

    def isolate(self, nodes: list[str], *, on: bool) -> None:
        assert self.client is not None
        self.client.request("fault", verb="partition" if on else "heal-partition", node=",".join(nodes))

    def shape_lan(self, netem: list[str] | None, nodes: list[str] | None = None) -> None:
        assert self.client is not None
        self.client.request("fault", verb="lan", node=" ".join(netem) if netem else "clean",
                            **({"ports": ",".join(nodes)} if nodes else {}))

    def status(self) -> dict:
        assert self.client is not None
        return self.client.request("status")["status"]


def pid_alive(info: dict) -> bool:
    return starttime(info["pid"]) == info["starttime"]


def claim_start(name: str) -> IO[str] | None:
    """The right to start lab `name`: an exclusive lock held by one `lvslab up` until its lab is
    ready or has failed (close the returned file to let go); None while another holds it.

    Checking for info.json alone is not enough: two `up` started together both find none, and
    each removes and rebuilds the folder the other is starting. The lock sits beside the folder,
    which `up` removes and recreates, and the kernel lets go of it when its holder dies.
    """
    UP_DIR.mkdir(parents=True, exist_ok=True)
    lock = (UP_DIR / f"{name}.starting").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return None
    return lock


def remove_lab_dir(name: str) -> None:
    folder = lab_dir(name)
    for entry in folder.glob("*") if folder.is_dir() else []:
        entry.unlink(missing_ok=True)
    if folder.is_dir():
        os.rmdir(folder)


def stop_up_labs(force: bool = False) -> list[str]:
    """For `lvslab clean`: forget every `lvslab up` lab whose process is gone; one still running is
    left alone (someone may be using it) unless forced, then stopped and forgotten."""
    import signal

    lines = []
    for info_file in sorted(UP_DIR.glob("*/info.json")) if UP_DIR.is_dir() else []:
        info = json.loads(info_file.read_text())
        if pid_alive(info):
            if not force:
                lines.append(f"left running: `lvslab up` lab {info['name']} (process group {info['pid']}); "
                             f"`lvslab down --name {info['name']}` stops it, `lvslab clean --force` stops every lab")
                continue
            os.killpg(info["pid"], signal.SIGKILL)
            lines.append(f"stopped `lvslab up` lab {info['name']} (process group {info['pid']})")
        remove_lab_dir(info["name"])
    return lines
