"""How long a peer waits for the registry's answer before it sends a request again: TCP's
retransmission timeout (RFC 6298), at the pace of the product's rounds (docs/GUIDE.md). A
round is ATTEMPTS copies, the timeout apart; the timeout follows the round trips of requests
answered at their first copy (SRTT, RTTVAR; Karn's rule: none from a request sent again),
never below wire.reliable.TIMEOUT, and doubles, up to RTO_MAX, when the registry shows it is
behind: a request answered only after copies. (A round unanswered while the registry answers
the rest, as one holding saves while its storage is away, is not a measure of its pace: the
next round keeps the timeout.) A registry seconds behind in a join storm is then asked
again every few seconds, not every half second; a quick one on a lossy LAN as ever, five
times half a second apart.
Direct messages between peers keep wire.reliable's fixed rule. Sans-IO: the caller
supplies `now`.
"""

from __future__ import annotations

from collections.abc import KeysView
from typing import Generic, TypeVar

from msgspec import Struct

from wire.reliable import ATTEMPTS, Alarm
from wire.round_trip import RTO_MAX, RoundTrip

__all__ = ["RTO_MAX", "Flight", "RetryWaits", "RoundTrip"]

T = TypeVar("T")


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
    copies a round. Asked after every event: a peer has a few requests in flight, so the
    earliest deadline is looked for among them rather than kept in order."""

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
        """A round of tries of `old`'s item begins at `now` with a copy sent, `wait` apart,
        `copies` sent in all."""
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
        """Start a new round of tries for `item` at `now`, its copy sent again, at the
        timeout of now: one the last `due` gave up on keeps its place among those in flight
        (else as `start`)."""
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
        """The answer for `key` came at `now`: forget it and return its item (None if not
        in flight). A request sent once gives a sample of the round trip; one sent again
        doubles the timeout (the registry may be behind, not only the copies lost), until
        a sample; `now` None: not an answer of the registry's (nothing is learnt)."""
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
        """(to send again now, given up) of those whose wait is over at `now`, oldest
        first: those whose round has sent all its copies are given up (the caller may
        start them `again`)."""
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
        """Every item in flight, oldest first, in a new round of tries at `now`: the owner
        sends each again at once (the far end is heard from again after a silence, and
        copies sent into it say nothing). One sent at `now` already is left, unless
        `every` (the owner sends to another end from now on)."""
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
