"""The agent's wire: a long answer arrives whole even when the stream takes a little per write."""

from __future__ import annotations

import io

from lab import wire


class Stingy(io.RawIOBase):
    """A raw stream that takes at most `most` bytes per write, as virtio-serial takes 32 KiB."""

    def __init__(self, most: int) -> None:
        self.most, self.taken, self.writes = most, bytearray(), 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.writes += 1
        part = bytes(data[: self.most])
        self.taken += part
        return len(part)


def test_a_message_longer_than_one_write_is_written_whole():
    stream = Stingy(most=32 * 1024)
    message = {"id": 7, "stdout": "x" * 70_000}
    wire.send(stream, message)
    assert stream.writes == 3
    got, rest = wire.next_message(bytes(stream.taken))
    assert got == message and rest == b""


def test_messages_are_read_one_line_at_a_time():
    buffer = b'{"id": 1}\n{"id": 2}\n{"id"'
    first, buffer = wire.next_message(buffer)
    second, buffer = wire.next_message(buffer)
    third, buffer = wire.next_message(buffer)
    assert (first, second, third, buffer) == ({"id": 1}, {"id": 2}, None, b'{"id"')
