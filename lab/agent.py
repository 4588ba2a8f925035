"""The lab agent: builds a lab on this kernel and serves it to `lvslab` over byte channels.

Runs inside the microVM (channels: virtio-serial ports, each a unix socket on the host) or
directly on a host whose kernel has IPVS (channels: unix sockets). The protocol is JSON
lines; each request carries an id, and every answer echoes it:

    -> {"id": 1, "op": "exec", "node": "loadb1", "command": "ipvsadm -L -n"}
    <- {"id": 1, "rc": 0, "stdout": "...", "stderr": "", "seconds": 0.2}
    -> {"id": 2, "op": "shell", "node": "webserver1"}   then "stdin"/"stdout" frames (base64), "exit"
Other ops: hello, status, http, stage, fault (freeze, thaw, link-up, link-down, crash, boot,
partition, heal-partition, lan), down.
"""

from __future__ import annotations

import argparse
import base64
import os
import pty
import select
import signal
import socket
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import BinaryIO, Callable

from lab import log, stages, wire
from lab.cluster import load_cluster
from lab.providers import get_provider
from lab.providers.base import Lab
from lab.provision import Provisioner
from lab.status import lab_status

READY = "lvslab-agent: ready"


class Channel:
    """One byte stream to one client at a time: a virtio-serial port or an accepted socket."""

    def __init__(self, reader: BinaryIO, writer: BinaryIO) -> None:
        self.reader, self.writer = reader, writer
        self._buffer = b""

    def read_message(self, timeout: float | None = None) -> dict | None:
        """The next message; None at end of stream; TimeoutError if none came within `timeout`."""
        while True:
            message, self._buffer = wire.next_message(self._buffer)
            if message is not None:
                return message
            if timeout is not None and not select.select([self.reader], [], [], timeout)[0]:
                raise TimeoutError
            chunk = self.reader.read(65536)
            if not chunk:
                return None
            self._buffer += chunk

    def send(self, message: dict) -> None:
        wire.send(self.writer, message)


class Agent:
    def __init__(self, lab: Lab, provisioner: Provisioner) -> None:
        self.lab = lab
        self.provisioner = provisioner
        self.stopping = threading.Event()
        self._stage_lock = threading.Lock()

    def handle(self, channel: Channel, request: dict) -> None:
        op, rid = request.get("op"), request.get("id")
        try:
            if op == "hello":
                channel.send({"id": rid, "op": "hello", "nonce": request.get("nonce"), "lab": self.lab.name,
                              "interface": self.lab.cluster.interface, "stack": self.lab.cluster.stack_name})
            elif op == "exec":
                node = self.lab.node(request["node"])
                stdin = base64.b64decode(request["stdin"]) if request.get("stdin") else None
                result = node.run(request["command"], stdin=stdin, timeout=request.get("timeout", 120),
                                  env=request.get("env") or {})
                channel.send({"id": rid, **asdict(result)})
            elif op == "http":
                reply = self.lab.http_get(request["url"], timeout=request.get("timeout", 5),
                                          source=request.get("source"), cookies=request.get("cookies"))
                channel.send({"id": rid, **asdict(reply)})
            elif op == "status":
                channel.send({"id": rid, "status": lab_status(self.lab, self.provisioner.done)})
            elif op == "stage":
                with self._stage_lock:
                    stages.reach(self.lab, self.provisioner, request["stage"])
                channel.send({"id": rid, "done": self.provisioner.done})
            elif op == "fault":  # what only the provider can do to a node (lab/faults.py)
                node = request["node"]
                verb = request["verb"]
                if verb == "freeze":
                    channel.send({"id": rid, "stopped": self.lab.freeze(node)})
                elif verb == "thaw":
                    self.lab.thaw(node)
                    channel.send({"id": rid, "done": True})
                elif verb in ("link-up", "link-down"):
                    self.lab.set_link(node, up=verb == "link-up")
                    channel.send({"id": rid, "done": True})
                elif verb in ("crash", "boot"):
                    getattr(self.lab, verb)(node)
                    channel.send({"id": rid, "done": True})
                elif verb in ("partition", "heal-partition"):
                    self.lab.isolate(node.split(","), on=verb == "partition")
                    channel.send({"id": rid, "done": True})
                elif verb == "lan":  # node: netem's arguments, or "clean"; "ports": whose only (comma-separated)
                    ports = request.get("ports")
                    self.lab.shape_lan(None if node == "clean" else node.split(), ports.split(",") if ports else None)
                    channel.send({"id": rid, "done": True})
                else:
                    channel.send({"id": rid, "agent_error": f"unknown fault {verb!r}"})
            elif op == "shell":
                self.shell(channel, rid, request)
            elif op == "down":
                channel.send({"id": rid, "down": True})
                self.stopping.set()
            else:
                channel.send({"id": rid, "agent_error": f"unknown op {op!r}"})
        except Exception as error:  # an answer, never a dead agent
            channel.send({"id": rid, "agent_error": f"{type(error).__name__}: {error}"})

    def shell(self, channel: Channel, rid: object, request: dict) -> None:
        """An interactive shell in a node on a pty, relayed as base64 frames until it exits."""
        node = self.lab.node(request["node"])
        argv = node.shell_argv()  # provider-specific: how to get a login shell inside this node
        pid, fd = pty.fork()
        if pid == 0:
            os.execvpe(argv[0], argv, {"TERM": request.get("term", "xterm"), "HOME": "/root", "PS1": f"root@{node.name}:\\w# ",
                                       "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"})
        stop = threading.Event()

        def pump_out() -> None:
            while not stop.is_set():
                ready, _, _ = select.select([fd], [], [], 0.2)
                if ready:
                    try:
                        data = os.read(fd, 65536)
                    except OSError:
                        data = b""
                    if not data:
                        break
                    channel.send({"id": rid, "op": "stdout", "data": base64.b64encode(data).decode()})

        pump = threading.Thread(target=pump_out, daemon=True)
        pump.start()
        while pump.is_alive():
            try:
                message = channel.read_message(timeout=0.2)
            except TimeoutError:
                continue  # nothing typed: look again whether the shell is still there
            if message is None or message.get("op") == "hangup":
                os.kill(pid, signal.SIGHUP)
                break
            if message.get("op") == "stdin":
                os.write(fd, base64.b64decode(message["data"]))
        pump.join(timeout=5)
        stop.set()
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        channel.send({"id": rid, "op": "exit", "rc": os.waitstatus_to_exitcode(status)})

    def serve(self, channel_factory: Callable[[], Channel]) -> None:
        while not self.stopping.is_set():
            channel = channel_factory()
            while not self.stopping.is_set():
                try:
                    request = channel.read_message()
                    if request is None:
                        break  # the client went away: wait for the next one
                    self.handle(channel, request)
                except (OSError, ValueError) as error:  # a client that left mid-answer, or sent garbage
                    log.info(f"agent: channel dropped: {error}")
                    break


def virtio_port(name: str) -> Path:
    for entry in Path("/sys/class/virtio-ports").glob("*/name"):
        if entry.read_text().strip() == name:
            return Path("/dev") / entry.parent.name
    raise FileNotFoundError(f"no virtio-serial port named {name}")


def port_channels(name: str) -> Callable[[], Channel]:
    """A virtio-serial port, opened once (it allows one opener); it reads EOF while no host
    client is connected, so the next "connection" starts when data arrives again."""
    handle = open(virtio_port(name), "r+b", buffering=0)

    def connect() -> Channel:
        while True:
            ready, _, _ = select.select([handle], [], [], 0.5)
            if ready:
                try:
                    first = handle.read(65536)
                except OSError:
                    first = b""
                if first:
                    channel = Channel(handle, handle)
                    channel._buffer = first
                    return channel
                time.sleep(0.2)  # EOF: nobody connected on the host side yet

    return connect


def socket_channels(path: Path) -> Callable[[], Channel]:
    path.unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(1)

    def accept() -> Channel:
        conn, _ = server.accept()
        stream = conn.makefile("rwb", buffering=0)
        return Channel(stream, stream)

    return accept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lab.agent")
    parser.add_argument("--stage", default="ch6")
    parser.add_argument("--name", default=None)
    parser.add_argument("--ports", default="", help="virtio-serial port names, comma separated")
    parser.add_argument("--sockets", default="", help="unix socket paths, comma separated")
    parser.add_argument("--lab", default="netns", help="provider: netns or vagrant")
    parser.add_argument("--stack", default="heartbeat", help="what runs the balancer pair (lab/stacks/)")
    args = parser.parse_args(argv)
    provider = get_provider(args.lab)
    provider.check_host()
    # A Vagrant lab's jail has a name of its own (lvslab-vg-...): `lvslab clean` knows it by that.
    lab = provider.create(load_cluster(stack=args.stack), lab_name=args.name if args.lab == "netns" else None)
    try:
        with log.step(f"lab: bring-up of {lab.describe()}"):
            lab.start()
        provisioner = Provisioner(lab)
        with log.step(f"lab: provisioning to stage {args.stage}"):
            stages.reach(lab, provisioner, args.stage)
        agent = Agent(lab, provisioner)
        factories = [port_channels(p) for p in args.ports.split(",") if p]
        factories += [socket_channels(Path(s)) for s in args.sockets.split(",") if s]
        for factory in factories:
            threading.Thread(target=agent.serve, args=(factory,), daemon=True).start()
        print(READY, flush=True)
        signal.signal(signal.SIGTERM, lambda *_: agent.stopping.set())
        while not agent.stopping.wait(1):
            pass
        time.sleep(0.5)  # let the answer to "down" leave
    finally:
        with log.step(f"lab: teardown of {lab.describe()}"):
            lab.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
