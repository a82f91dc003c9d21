"""When a request to the registry goes again. After no answer: TCP's retransmission
timeout (RFC 6298), ATTEMPTS copies a round, the timeout following the round trips of
requests answered at their first copy (Karn's rule), never below wire.reliable.TIMEOUT,
doubled up to RTO_MAX when the registry answers only after copies (it is behind; a round
unanswered while it answers the rest keeps the timeout). After a Busy, or a silent round of
a first registration: the wait it asked, or a backoff (`BusyWaits`). Direct messages keep
wire.reliable's fixed rule. Sans-IO: the caller supplies `now`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, KeysView
from typing import Generic, TypeVar

from msgspec import Struct

from wire.reliable import ATTEMPTS, Alarm
from wire.round_trip import RTO_MAX, RoundTrip

__all__ = ["RTO_MAX", "BusyWaits", "Flight", "RetryWaits", "RoundTrip", "silent_wait"]

T = TypeVar("T")

#: Seconds a request answered Busy is asked again for, from the first Busy: a registry
#: still too busy after that is given up on, as one that does not answer.
BUSY_PATIENCE = 120.0
#: Seconds a request waits after its first silent round (`BusyWaits.after_silence`),
#: doubled after each, up to the last.
SILENT_WAIT_FIRST = 1.0
SILENT_WAIT_LAST = 16.0


class Flight(Struct, Generic[T]):
    """One request in flight: its copies, and the wait of its round."""

    key: str
    item: T
    seq: int  # the order of first sending: what is due goes oldest first
    sent_at: float  # when its last copy went
    copies: int  # copies sent in all (Karn's rule: a sample only from one)
    wait: float  # the wait after each copy of its round
    deadline: float  # when the wait after its last copy is over
    left: int  # copies its round may still send


class RetryWaits(Generic[T]):
    """Requests by key (the request's id) until answered or given up, each sent again after
    the round trip's timeout (`round_trip`, shared by all of one peer's requests), `attempts`
    copies a round."""

    def __init__(
        self,
        round_trip: RoundTrip | None = None,
        attempts: int = ATTEMPTS,
        alarm: Alarm | None = None,
    ) -> None:
        """`alarm`, when given, is lowered to each deadline armed."""
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.round_trip = round_trip or RoundTrip()
        self.attempts = attempts
        self._flights: dict[str, Flight[T]] = {}
        #: The keys in flight, as a live view (read-only).
        self.ids: KeysView[str] = self._flights.keys()
        self._seq = 0
        # of those the last `due` gave up: their order
        self._given_up: dict[str, int] = {}
        self._alarm = alarm or Alarm()

    def _round(self, old: Flight[T], now: float, copies: int, wait: float) -> None:
        """A round of tries of `old`'s item begins at `now`, `wait` apart, `copies` in all."""
        left = self.attempts - 1
        flight = Flight(old.key, old.item, old.seq, now, copies, wait, now + wait, left)
        self._flights[old.key] = flight
        self._alarm.lower(flight.deadline)

    def start(self, key: str, item: T, now: float) -> None:
        """The first copy of `item` was sent at `now` (one sent before keeps its place and
        counts its copies: this one is not a sample)."""
        old = self._flights.get(key)
        if old is None:
            self._seq += 1
            old = Flight(key, item, self._seq, now, 0, 0.0, now, 0)
        old.item = item
        self._round(old, now, old.copies + 1, self.round_trip.rto)

    def again(self, key: str, item: T, now: float) -> None:
        """A new round of tries for `item` at `now`, its copy sent again: one the last `due`
        gave up on keeps its place among those in flight (else as `start`)."""
        seq = self._given_up.get(key)
        if seq is None:
            self.start(key, item, now)
            self._flights[key].copies += 1  # a copy of what went before
            return
        wait = self.round_trip.rto
        self._round(Flight(key, item, seq, now, 0, wait, now, 0), now, 2, wait)
        ordered = sorted(self._flights.items(), key=lambda kv: kv[1].seq)
        self._flights.clear()  # the same dict, reordered: `ids` views it
        self._flights.update(ordered)

    def answer(self, key: str, now: float | None = None) -> T | None:
        """The answer for `key` came at `now`: forget it and return its item (None if not in
        flight). Sent once, it gives a sample of the round trip; sent again, it doubles the
        timeout until a sample; `now` None: nothing is learnt."""
        flight = self._flights.pop(key, None)
        if flight is None or now is None:
            return None if flight is None else flight.item
        if flight.copies == 1:
            self.round_trip.sample(now - flight.sent_at)
        else:
            self.round_trip.backed_off(flight.wait)
        return flight.item

    def get(self, key: str) -> T | None:
        """The item in flight under `key`, if any."""
        flight = self._flights.get(key)
        return None if flight is None else flight.item

    def due(self, now: float) -> tuple[list[T], list[T]]:
        """(to send again now, given up: their round sent all its copies) of those whose wait
        is over at `now`, oldest first."""
        if self._given_up:
            self._given_up = {}
        again: list[T] = []
        failed: list[T] = []
        for flight in [f for f in self._flights.values() if f.deadline <= now]:
            if not flight.left:
                del self._flights[flight.key]
                self._given_up[flight.key] = flight.seq
                failed.append(flight.item)
                continue
            flight.sent_at, flight.copies, flight.left = now, flight.copies + 1, flight.left - 1
            flight.deadline = now + flight.wait
            self._alarm.lower(flight.deadline)
            again.append(flight.item)
        return again, failed

    def renew(self, now: float, *, every: bool = False) -> list[T]:
        """Every item in flight, oldest first, in a new round of tries at `now`, for the
        owner to send again at once; one sent at `now` already is left, unless `every`."""
        renewed = [f for f in self._flights.values() if every or f.sent_at < now]
        for flight in renewed:
            self._round(flight, now, flight.copies + 1, self.round_trip.rto)
        return [f.item for f in renewed]

    def next_wake(self) -> float | None:
        """The earliest deadline, or None when nothing is in flight."""
        flights = self._flights
        if not flights:
            return None
        return min(f.deadline for f in flights.values())

    def __len__(self) -> int:
        return len(self._flights)

    def items(self) -> list[T]:
        """Every item in flight, oldest first."""
        return [f.item for f in self._flights.values()]


def silent_wait(msg_id: str, waits: int) -> float:
    """Seconds request `msg_id` waits after its silent round number `waits` + 1:
    SILENT_WAIT_FIRST doubled `waits` times, up to SILENT_WAIT_LAST, each between half and
    all of it (TCP's backoff with jitter, so that peers started together spread their next
    tries). The jitter hashes the id and the round: a core stays a function of its events."""
    full = min(SILENT_WAIT_FIRST * 2.0**waits, SILENT_WAIT_LAST)
    share = zlib.crc32(f"{msg_id}/{waits}".encode()) / 0xFFFFFFFF
    return full * (0.5 + share / 2)


class BusyWaits(Generic[T]):
    """Requests (`T`) that wait before they go again, by id: answered Busy (a join storm;
    a TooBig starts the same wait), with when the first Busy came, or a first registration
    the registry left silent for a round. `alarm` is lowered to each wait's end."""

    def __init__(self, alarm: Alarm | None = None) -> None:
        self._alarm = alarm or Alarm()
        #: The requests waited on, by id, each with when its wait is over.
        self.due: dict[str, tuple[T, float]] = {}
        self._since: dict[str, float] = {}
        # of each request that waits after silent rounds: its first such, and how many
        self._silent: dict[str, tuple[float, int]] = {}

    def since(self, msg_id: str, now: float) -> float:
        """When the first Busy came for request `msg_id`; `now` if none did."""
        return self._since.get(msg_id, now)

    def wait(self, msg_id: str, request: T, due: float, since: float) -> None:
        """`request` goes again at `due`; its first Busy came at `since`."""
        self._since[msg_id] = since
        self.due[msg_id] = (request, due)
        self._alarm.lower(due)

    def after_silence(self, msg_id: str, request: T, now: float, patience: float) -> float | None:
        """When `request`, unanswered and unheard of all its round ending at `now`, goes
        again (`silent_wait` on); None once `patience` seconds have passed since its first
        silent round (it is forgotten here)."""
        first, waits = self._silent.get(msg_id, (now, 0))
        if now - first >= patience:
            self._silent.pop(msg_id, None)
            return None
        self._silent[msg_id] = (first, waits + 1)
        due = now + silent_wait(msg_id, waits)
        self.due[msg_id] = (request, due)
        self._alarm.lower(due)
        return due

    def take(self, msg_id: str) -> T | None:
        """Request `msg_id`, answered: no longer waiting, its silent rounds forgotten; None
        if it does not wait."""
        self._silent.pop(msg_id, None)
        waiting = self.due.pop(msg_id, None)
        return None if waiting is None else waiting[0]

    def patient(self, msg_id: str, now: float) -> bool:
        """Whether request `msg_id` was answered Busy less than BUSY_PATIENCE ago: until
        then its silence is no sign the registry is gone."""
        since = self._since.get(msg_id)
        return since is not None and now - since < BUSY_PATIENCE

    def exhausted(self, msg_id: str, now: float) -> bool:
        """Whether request `msg_id` has been answered Busy for BUSY_PATIENCE already."""
        since = self._since.get(msg_id)
        return since is not None and now - since >= BUSY_PATIENCE

    def forget(self, msg_id: str) -> None:
        """Request `msg_id` was answered, or given up on: its first Busy no longer counts."""
        self._since.pop(msg_id, None)

    def over(self, now: float) -> Iterator[T]:
        """Each request whose wait is over at `now`, no longer waiting."""
        for msg_id, (request, due) in list(self.due.items()):
            if due <= now:
                del self.due[msg_id]
                yield request

    def next_wake(self) -> float | None:
        """When the next wait is over, or None."""
        return min((due for _, due in self.due.values()), default=None)
