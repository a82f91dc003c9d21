"""The messages a datagram holds, as a list, for tests that read what was sent."""

from __future__ import annotations

from wire.codec import DECODE_ERRORS, decode_datagram, undecoded
from wire.messages import Message


def messages_of(data: bytes) -> list[Message]:
    """The messages of the datagram `data`, one or a batch, as the endpoint reads them;
    DecodeError (saying why) when it holds none."""
    try:
        decoded = decode_datagram(data)
    except DECODE_ERRORS as exc:
        raise undecoded(data, exc) from None
    return decoded if isinstance(decoded, list) else [decoded]
