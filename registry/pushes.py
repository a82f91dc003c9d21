"""The registry's pushes to peers, waiting for their acks, with a window per peer.

Pure: no clock, no sockets. A relay or a burst of table changes may queue thousands of
pushes for one peer. Sent all at once, most of them would wait in the peer's socket
buffer longer than the retry timeout, be sent again, and the copies would bury the peer
in work it has already done (congestion collapse). So at most WINDOW pushes per address
are in flight; the rest wait here, in order, and go out as acks make room. A push's
retry timer starts when it is sent, not when it was queued.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from registry.actions import Addr
from wire.messages import Message
from wire.reliable import ATTEMPTS, TIMEOUT, Retransmitter

#: Pushes in flight to one address. Enough for a burst to fill several datagrams per
#: round trip; few enough that a slow peer's buffer holds them well within TIMEOUT.
WINDOW = 128


@dataclass(frozen=True, slots=True)
class Push:
    """A message the registry sends to a peer and wants acknowledged.

    `purpose` says what a missing ack means: "table" and "outcome" are just dropped;
    "relay" (a channel message) and "probe" (a direct message the registry delivers itself)
    mark the peer offline and store the message in its mailbox instead; "room" (a room
    message or notice) marks the peer offline, which takes it out of its room.
    """

    key: str
    owner: str
    addr: Addr
    message: Message
    purpose: str
    #: order in which the registry made its pushes, so failures can be acted on in order
    seq: int = 0


class Pushes:
    """Pushes by key, at most `window` in flight per address, the rest queued in order."""

    def __init__(
        self, timeout: float = TIMEOUT, attempts: int = ATTEMPTS, window: int = WINDOW
    ) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self._retry: Retransmitter[Push] = Retransmitter(timeout, attempts)
        self._window = window
        # keys in flight per address, in the order they were first sent
        self._flying: dict[Addr, dict[str, None]] = {}
        self._queued: dict[Addr, deque[Push]] = {}

    def add(self, push: Push, now: float) -> bool:
        """Take `push`; True if it is to be sent now, False if it waits for room."""
        flying = self._flying.setdefault(push.addr, {})
        if push.key not in flying and (len(flying) >= self._window or push.addr in self._queued):
            self._queued.setdefault(push.addr, deque()).append(push)
            return False
        flying[push.key] = None
        self._retry.start(push.key, push, now)
        return True

    def answer(self, key: str, now: float) -> tuple[Push | None, list[Push]]:
        """The ack for `key` arrived: (the push it answers or None, pushes to send now)."""
        push = self._retry.answer(key)
        if push is None:
            return None, []
        return push, self._landed(push, now)

    def due(self, now: float) -> tuple[list[Push], list[Push], list[Push]]:
        """(to send again, given up, taken from the queue to send now) at `now`."""
        again, failed = self._retry.due(now)
        released: list[Push] = []
        for push in failed:
            released += self._landed(push, now)
        return again, failed, released

    def drop_all(self, addr: Addr) -> list[Push]:
        """Forget and return every push to `addr`: those in flight, then those queued."""
        dropped: list[Push] = []
        for key in self._flying.pop(addr, {}):
            push = self._retry.answer(key)
            if push is not None:
                dropped.append(push)
        dropped += self._queued.pop(addr, ())
        return dropped

    def next_wake(self) -> float | None:
        """The earliest retry deadline, or None."""
        return self._retry.next_wake()

    def in_flight(self) -> int:
        return len(self._retry)

    def queued(self) -> int:
        return sum(len(q) for q in self._queued.values())

    def _landed(self, push: Push, now: float) -> list[Push]:
        """`push` is no longer in flight: let the queue of its address move up."""
        flying = self._flying.get(push.addr)
        if flying is None:
            return []
        flying.pop(push.key, None)
        queue = self._queued.get(push.addr)
        released: list[Push] = []
        while queue and len(flying) < self._window:
            nxt = queue.popleft()
            flying[nxt.key] = None
            self._retry.start(nxt.key, nxt, now)
            released.append(nxt)
        if not queue:
            self._queued.pop(push.addr, None)
            if not flying:
                del self._flying[push.addr]
        return released
