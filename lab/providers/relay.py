"""A TCP connection made *on a VM*, handed to the harness as a local socket.

The client node of a VM lab is another machine: a socket opened here would not come from
its addresses. So a small relay (python3, in the box) runs on the client VM over ssh: it
connects (from a chosen source address, with a chosen receive buffer) and copies bytes both
ways between that connection and ssh's stdin/stdout, whose other end is one half of a local
socketpair. Back-pressure crosses ssh: a harness that reads slowly makes the relay read
slowly, so the real connection's window closes as it would on the client.
"""

from __future__ import annotations

import shlex
import socket
import subprocess

RELAY = r"""
import os, select, socket, sys
address, port, source, rcvbuf, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
if rcvbuf:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
if source:
    conn.bind((source, 0))
conn.settimeout(timeout)
try:
    conn.connect((address, port))
except OSError as error:
    os.write(1, ("ER " + str(error) + "\n").encode())
    sys.exit(1)
conn.settimeout(None)
os.write(1, b"OK\n")
inputs = [0, conn]
while inputs:
    for ready in select.select(inputs, [], [])[0]:
        if ready == 0:
            data = os.read(0, 65536)
            if data:
                conn.sendall(data)
            else:
                conn.shutdown(socket.SHUT_WR)
                inputs.remove(0)
        else:
            data = conn.recv(16384)
            if not data:
                sys.exit(0)
            while data:
                data = data[os.write(1, data):]
"""


class RelayedSocket(socket.socket):
    """The local end; closing it also ends the ssh process behind it."""

    process: subprocess.Popen | None = None

    def close(self) -> None:
        super().close()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()


def open_relay(ssh_argv: list[str], address: str, port: int, *, source: str | None, timeout: float,
               receive_buffer: int | None) -> socket.socket:
    ours, theirs = socket.socketpair()
    local = RelayedSocket(ours.family, ours.type, fileno=ours.detach())
    command = ["python3", "-c", RELAY, address, str(port), source or "", str(receive_buffer or 0), str(timeout)]
    process = subprocess.Popen([*ssh_argv, shlex.join(command)], stdin=theirs, stdout=theirs,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    theirs.close()
    local.process = process
    local.settimeout(timeout + 30)
    status = b""
    while not status.endswith(b"\n"):
        chunk = local.recv(1)
        if not chunk:
            break
        status += chunk
    if status != b"OK\n":
        local.close()
        raise ConnectionError(f"connect to {address}:{port} from the client VM failed: "
                              f"{status.decode(errors='replace').strip() or 'relay ended'}")
    local.settimeout(timeout)
    return local
