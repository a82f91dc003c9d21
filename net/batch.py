"""Handing the messages of one datagram to a sans-IO core. Used by the peer's and the
registry's adapters alike."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from wire.messages import Message, for_log

A = TypeVar("A")
Addr = tuple[str, int]


def receive_batch(
    receive: Callable[[Message, Addr, float], list[A]],
    messages: list[Message],
    addr: Addr,
    trace: Callable[[str], None] | None = None,
    *,
    now: float | None = None,
) -> list[A]:
    """The actions a core's `receive` returns for each of `messages` from `addr`, in order,
    all at one `now` (None: the monotonic clock's), so that the adapter carries them out in
    one go (one wake-up computed, the acks merged by the endpoint). `trace`, in verbose
    mode, gets one line per message."""
    if now is None:
        now = time.monotonic()
    actions: list[A] = []
    for message in messages:
        if trace is not None:
            trace(inbound_line(message, addr))
        actions += receive(message, addr, now)
    return actions


def inbound_line(message: Message, addr: Addr) -> str:
    """The verbose log's line for `message` received from `addr` (tokens hidden)."""
    return f"<- {addr[0]}:{addr[1]} {for_log(message)}"
