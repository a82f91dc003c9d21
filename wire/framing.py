"""Length-prefixed frames for TCP: a 4-byte big-endian length, then that many bytes of body."""

from __future__ import annotations

from wire.codec import decode, encode
from wire.errors import DecodeError
from wire.limits import FRAME_HEADER, MAX_FRAME
from wire.messages import Message


def encode_frame(message: Message) -> bytes:
    """Encode a message as one frame; raise ValueError if the body exceeds MAX_FRAME."""
    body = encode(message)
    if len(body) > MAX_FRAME:
        raise ValueError(f"{type(message).__name__} is {len(body)} bytes, over {MAX_FRAME}")
    return len(body).to_bytes(FRAME_HEADER, "big") + body


class StreamDecoder:
    """Incremental decoder: feed bytes as they arrive, get back the whole messages in them.

    A length header over MAX_FRAME is refused as soon as the header is complete, before any
    of the body is buffered. After a DecodeError the stream is unusable; close the connection.
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._buffer = bytearray()
        self._max_frame = max_frame
        self._broken = False

    def feed(self, data: bytes) -> list[Message]:
        """Add received bytes; return the messages completed by them, in order."""
        if self._broken:
            raise DecodeError("stream already failed")
        self._buffer += data
        messages: list[Message] = []
        while len(self._buffer) >= FRAME_HEADER:
            length = int.from_bytes(self._buffer[:FRAME_HEADER], "big")
            if length > self._max_frame:
                self._broken = True
                raise DecodeError(f"frame of {length} bytes, over {self._max_frame}")
            end = FRAME_HEADER + length
            if len(self._buffer) < end:
                break
            body = bytes(self._buffer[FRAME_HEADER:end])
            del self._buffer[:end]
            try:
                messages.append(decode(body))
            except DecodeError:
                self._broken = True
                raise
        return messages

    @property
    def pending(self) -> int:
        """Bytes received that do not yet make a whole frame."""
        return len(self._buffer)
