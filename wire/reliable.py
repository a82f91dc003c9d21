"""Ack-and-retry bookkeeping shared by the registry and the peer (DESIGN.md section 4).

Pure: no clock, no sockets. The owner sends the first copy itself, records it here with
`now`, and asks `due(now)` at the wake-up time `next_wake()` gives; `due` says what to send
again and what has used up its attempts.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Generic, TypeVar

#: Seconds to wait for an answer before sending again.
TIMEOUT = 0.5
#: Copies sent in all, the first included, before giving up.
ATTEMPTS = 5

T = TypeVar("T")


@dataclass
class Pending(Generic[T]):
    """One request waiting for its answer: how often it was sent and when to look again."""

    key: str
    item: T
    sent: int
    deadline: float


class Retransmitter(Generic[T]):
    """Tracks requests by key (the request's id) until answered or given up."""

    def __init__(self, timeout: float = TIMEOUT, attempts: int = ATTEMPTS) -> None:
        if timeout <= 0 or attempts < 1:
            raise ValueError("timeout must be positive and attempts at least 1")
        self.timeout = timeout
        self.attempts = attempts
        self._pending: dict[str, Pending[T]] = {}

    def start(self, key: str, item: T, now: float) -> None:
        """Record that the first copy of `item` was sent at `now`."""
        self._pending[key] = Pending(key, item, 1, now + self.timeout)

    def answer(self, key: str) -> T | None:
        """The answer for `key` arrived: forget it and return its item (None if unknown)."""
        pending = self._pending.pop(key, None)
        return None if pending is None else pending.item

    def get(self, key: str) -> T | None:
        """The item still waiting under `key`, if any."""
        pending = self._pending.get(key)
        return None if pending is None else pending.item

    def due(self, now: float) -> tuple[list[T], list[T]]:
        """Return (to send again now, given up) for every deadline at or before `now`."""
        again: list[T] = []
        failed: list[T] = []
        for key, pending in list(self._pending.items()):
            if pending.deadline > now:
                continue
            if pending.sent >= self.attempts:
                del self._pending[key]
                failed.append(pending.item)
            else:
                pending.sent += 1
                pending.deadline = now + self.timeout
                again.append(pending.item)
        return again, failed

    def next_wake(self) -> float | None:
        """The earliest deadline, or None when nothing waits."""
        return min((p.deadline for p in self._pending.values()), default=None)

    def __len__(self) -> int:
        return len(self._pending)

    def items(self) -> list[T]:
        """Every item still waiting, oldest first."""
        return [p.item for p in self._pending.values()]


class IdMaker:
    """Makes message ids unique per sender: a per-process session prefix and a counter.

    The session prefix comes from the caller (random in the adapters, fixed in tests), so
    that a restarted process never reuses the ids of its previous life.
    """

    def __init__(self, session: str) -> None:
        self._session = session
        self._counter = itertools.count(1)

    def __call__(self) -> str:
        return f"{self._session}-{next(self._counter)}"
