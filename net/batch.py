"""The verbose log's line for each message of a datagram received, the peer's and the
registry's adapters alike (their cores take a datagram's messages together)."""

from __future__ import annotations

from wire.messages import Message, for_log

Addr = tuple[str, int]


def inbound_line(message: Message, addr: Addr) -> str:
    """The verbose log's line for `message` received from `addr` (tokens hidden)."""
    return f"<- {addr[0]}:{addr[1]} {for_log(message)}"
