"""The messages a datagram holds, as a list, for tests that read what was sent; what a channel
seals, as a list."""

from __future__ import annotations

from collections.abc import Sequence

from net.outgoing import DatagramChannel
from wire.codec import DECODE_ERRORS, decode_datagram, undecoded
from wire.messages import Message

Addr = tuple[str, int]


def messages_of(data: bytes) -> list[Message]:
    """The messages of the datagram `data`, one or a batch, as the endpoint reads them;
    DecodeError (saying why) when it holds none."""
    try:
        decoded = decode_datagram(data)
    except DECODE_ERRORS as exc:
        raise undecoded(data, exc) from None
    return decoded if isinstance(decoded, list) else [decoded]


def seal_list(
    channel: DatagramChannel,
    datas: list[bytes],
    dests: Sequence[tuple[Addr, bytes]],
    now: float,
) -> list[tuple[bytes, Addr]]:
    """The datagrams `channel.seal` sends, in order."""
    out: list[tuple[bytes, Addr]] = []
    channel.seal(datas, dests, now, out.append)
    return out
