"""Handing the messages of one datagram to a sans-IO core. Used by the peer's and the
registry's adapters alike."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Self, TypeVar

from wire.messages import Message

A = TypeVar("A")
Addr = tuple[str, int]


def receive_batch(
    receive: Callable[[Message, Addr, float], list[A]],
    messages: list[Message],
    addr: Addr,
    trace: Callable[[str], None] | None = None,
) -> list[A]:
    """The actions a core's `receive` returns for each of `messages` from `addr`, in order,
    all at one `now`, so that the adapter carries them out in one go (one write of the
    shown records, one wake-up computed, the acks merged by the endpoint). `trace`, in
    verbose mode, gets one line per message."""
    now = time.time()
    actions: list[A] = []
    for message in messages:
        if trace is not None:
            trace(f"<- {addr[0]}:{addr[1]} {message}")
        actions += receive(message, addr, now)
    return actions


def receive_one(
    receive: Callable[[Message, Addr, float, list[A]], object],
    message: Message,
    addr: Addr,
    out: list[A],
    trace: Callable[[str], None] | None = None,
) -> None:
    """Hand `message`, from `addr`, to a core's `receive` with `out` as its list of actions
    (a CarriedOut, to carry each out as it is decided). `trace` as for `receive_batch`."""
    if trace is not None:
        trace(f"<- {addr[0]}:{addr[1]} {message}")
    receive(message, addr, time.time(), out)


class CarriedOut(list[A]):
    """A core's `out` that carries each action out, with `carry`, the moment the core
    appends it, and keeps none: for a core that appends its actions in the order they are
    to be carried out and never reads them back (see peer.core)."""

    __slots__ = ("_carry",)

    def __init__(self, carry: Callable[[A], None]) -> None:
        super().__init__()
        self._carry = carry

    def append(self, action: A) -> None:
        self._carry(action)

    def extend(self, actions: Iterable[A]) -> None:
        for action in actions:
            self._carry(action)

    def __iadd__(self, actions: Iterable[A]) -> Self:  # type: ignore[override,misc]
        self.extend(actions)
        return self
