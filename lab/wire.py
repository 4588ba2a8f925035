"""The agent's wire (lab/agent.py inside the microVM, lab/remote.py on the host): one JSON
message per line over a byte stream, a virtio-serial port or a unix socket."""

from __future__ import annotations

import json
import select
from typing import BinaryIO


def send(stream: BinaryIO, message: dict) -> None:
    """Write one message whole. A raw stream may take part of a write: virtio-serial takes at
    most 32 KiB per write(2), a socket with a timeout what its buffer holds. Stopping at the first
    partial write lost the rest of a long answer (`lvslab exec NODE -- cat` of a 70 KB file never
    came back), so this writes until every byte is out."""
    view = memoryview(json.dumps(message).encode() + b"\n")
    while view:
        written = stream.write(view)
        if written is None:  # a non-blocking stream that is full: wait until it takes more
            select.select([], [stream], [])
            continue
        view = view[written:]
    stream.flush()


def next_message(buffer: bytes) -> tuple[dict | None, bytes]:
    """The first whole message in `buffer` and what follows it; (None, buffer) if none is whole yet."""
    if b"\n" not in buffer:
        return None, buffer
    line, rest = buffer.split(b"\n", 1)
    return json.loads(line), rest
