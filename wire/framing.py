"""A message in a length-prefixed frame for TCP: a 4-byte big-endian length, then that many
bytes of body. Only a refusal in clear to a version from before the secure channel goes so;
every other TCP frame is a record of the channel (secure/stream.py)."""

from __future__ import annotations

from wire.codec import encode
from wire.limits import FRAME_HEADER, MAX_FRAME
from wire.messages import Message


def encode_frame(message: Message) -> bytes:
    """Encode a message as one frame; raise ValueError if the body exceeds MAX_FRAME."""
    body = encode(message)
    if len(body) > MAX_FRAME:
        raise ValueError(f"{type(message).__name__} is {len(body)} bytes, over {MAX_FRAME}")
    return len(body).to_bytes(FRAME_HEADER, "big") + body
