"""Ack-and-retry bookkeeping shared by the registry and the peer (docs/PROTOCOL.md).

Pure: no clock, no sockets. The owner sends the first copy itself, records it here with
`now`, and asks `due(now)` at the wake-up time `next_wake()` gives; `due` says what to send
again and what has used up its attempts.
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import Generic, TypeVar

from msgspec import Struct

#: Seconds to wait for an answer before sending again.
TIMEOUT = 0.5
#: Copies sent in all, the first included, before giving up.
ATTEMPTS = 5
#: Seconds to wait for an answer fetched over TCP after a TooBig, on the connection made to
#: ask it, which stays open as long (net/served_stream.py): the registry runs (it answered
#: the TooBig), and in a join storm of 2,000 peers, 1 to 3 s behind what arrives, the
#: connection, its handshake and the request each wait their turn (5 s gave up on some);
#: through a registry that relays for a service, the answer crosses NATS twice as well.
STREAM_WAIT = 15.0

T = TypeVar("T")


class Alarm:
    """When its owner is next to be woken: at the earliest deadline it keeps, or before.

    Each deadline armed lowers it (`lower`), so that reading it after an event costs
    nothing; the owner sets `at` to its true earliest deadline after its timed work (a
    deadline answered meanwhile only makes a wake-up early, which finds nothing due)."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        #: The time to be woken by, or None when nothing waits.
        self.at: float | None = None

    def lower(self, deadline: float | None) -> None:
        """Be woken by `deadline` too (None: no deadline)."""
        if deadline is not None and (self.at is None or deadline < self.at):
            self.at = deadline


class Pending(Struct, Generic[T]):
    """One request waiting for its answer: how often it was sent and when to look again."""

    key: str
    item: T
    sent: int
    deadline: float
    #: order of first recording, so that `due` lists what is due oldest first
    seq: int = 0


class Retransmitter(Generic[T]):
    """Tracks requests by key (the request's id) until answered or given up.

    Deadlines are also kept in a queue, so that `next_wake` and `due` cost what is due, not
    what is waiting: a registry pushing to thousands of peers asks for its next wake-up
    after every datagram it handles. Every deadline is `now` plus the one timeout, so
    deadlines are armed in order and a FIFO queue is already sorted (a clock stepped back
    only delays retries to the last deadline armed). An entry whose request was answered or
    re-armed since is stale and skipped when it comes to the front.
    """

    def __init__(
        self, timeout: float = TIMEOUT, attempts: int = ATTEMPTS, alarm: Alarm | None = None
    ) -> None:
        """`alarm`, when given, is lowered to each deadline armed."""
        if timeout <= 0 or attempts < 1:
            raise ValueError("timeout must be positive and attempts at least 1")
        self.timeout = timeout
        self.attempts = attempts
        self._pending: dict[str, Pending[T]] = {}
        #: The keys waiting, as a live view (read-only): `key in ids` and `not ids` ask
        #: what `get` and `len` would, as values (the peer asks them of every message).
        self.ids = self._pending.keys()
        self._queue: deque[tuple[float, Pending[T]]] = deque()
        self._seq = itertools.count()
        self._given_up: dict[str, int] = {}  # the order of those the last `due` gave up
        self._alarm = alarm

    def _arm(self, pending: Pending[T]) -> None:
        if self._queue and pending.deadline < self._queue[-1][0]:
            pending.deadline = self._queue[-1][0]  # the clock stepped back: keep the order
        deadline, alarm = pending.deadline, self._alarm
        self._queue.append((deadline, pending))
        if alarm is not None and (alarm.at is None or deadline < alarm.at):
            alarm.at = deadline  # (`Alarm.lower`, written out: every request armed)

    def _live(self, entry: tuple[float, Pending[T]]) -> bool:
        deadline, pending = entry
        return self._pending.get(pending.key) is pending and pending.deadline == deadline

    def start(self, key: str, item: T, now: float) -> None:
        """Record that the first copy of `item` was sent at `now`."""
        old = self._pending.get(key)
        seq = old.seq if old is not None else next(self._seq)
        queue, alarm = self._queue, self._alarm
        deadline = now + self.timeout
        if queue and deadline < queue[-1][0]:
            deadline = queue[-1][0]  # the clock stepped back: keep the order
        pending = self._pending[key] = Pending(key, item, 1, deadline, seq)
        queue.append((deadline, pending))  # (`_arm`, written out: every request)
        if alarm is not None and (alarm.at is None or deadline < alarm.at):
            alarm.at = deadline

    def answer(self, key: str) -> T | None:
        """The answer for `key` arrived: forget it and return its item (None if unknown)."""
        pending = self._pending.pop(key, None)
        return None if pending is None else pending.item

    def get(self, key: str) -> T | None:
        """The item still waiting under `key`, if any."""
        pending = self._pending.get(key)
        return None if pending is None else pending.item

    def due(self, now: float) -> tuple[list[T], list[T]]:
        """Return (to send again now, given up) for every deadline at or before `now`,
        oldest request first."""
        # by key: one request renewed twice at one instant (heard from again, then moved to
        # another end) is armed twice with the same deadline, and both entries are live
        live: dict[str, Pending[T]] = {}
        queue = self._queue
        while queue and queue[0][0] <= now:
            entry = queue.popleft()
            if self._live(entry):
                live[entry[1].key] = entry[1]
        ready = sorted(live.values(), key=lambda p: p.seq)
        if self._given_up:
            self._given_up = {}
        again: list[T] = []
        failed: list[T] = []
        for pending in ready:
            if pending.sent >= self.attempts:
                del self._pending[pending.key]
                self._given_up[pending.key] = pending.seq
                failed.append(pending.item)
            else:
                pending.sent += 1
                pending.deadline = now + self.timeout
                self._arm(pending)
                again.append(pending.item)
        return again, failed

    def again(self, key: str, item: T, now: float) -> None:
        """Start a new round of tries for `item` at `now`: one the last `due` gave up on
        keeps its place among the items waiting, oldest first (else as `start`)."""
        seq = self._given_up.get(key)
        if seq is None:
            self.start(key, item, now)
            return
        pending = Pending(key, item, 1, now + self.timeout, seq)
        self._pending[key] = pending
        ordered = sorted(self._pending.items(), key=lambda kv: kv[1].seq)
        self._pending.clear()  # the same dict, reordered: `ids` views it
        self._pending.update(ordered)
        self._arm(pending)

    def renew(self, now: float, *, every: bool = False) -> list[T]:
        """Every item still waiting, oldest first, counted as sent afresh at `now` (its
        attempts start over): the owner sends each again at once. An item sent at `now`
        already is left as it is, unless `every`. For when the far end is heard from again
        after a silence: copies sent into the silence say nothing about it, and the last of
        them may have been lost just before it came back. `every` for when the owner sends
        to another end from now on."""
        fresh = now + self.timeout
        ordered = sorted(
            (p for p in self._pending.values() if every or p.deadline < fresh),
            key=lambda p: p.seq,
        )
        for pending in ordered:
            pending.sent = 1
            pending.deadline = fresh
            self._arm(pending)
        return [p.item for p in ordered]

    def next_wake(self) -> float | None:
        """The earliest deadline, or None when nothing waits."""
        queue, pending = self._queue, self._pending
        while queue:  # (`_live` written out: this is asked after every event)
            deadline, first = queue[0]
            if pending.get(first.key) is first and first.deadline == deadline:
                return deadline
            queue.popleft()
        return None

    def __len__(self) -> int:
        return len(self._pending)

    def items(self) -> list[T]:
        """Every item still waiting, oldest first."""
        return [p.item for p in self._pending.values()]
