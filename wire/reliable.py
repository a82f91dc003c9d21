"""Ack-and-retry bookkeeping shared by the registry and the peer (docs/PROTOCOL.md): the
owner sends the first copy, records it here, and asks `due(now)` at `next_wake()`. The wait
before a copy goes again is TCP's retransmission timeout (RFC 6298, `RoundTrip`): SRTT +
4·RTTVAR, never below TIMEOUT, doubled while copies go unanswered, up to RTO_MAX; a chat's
copies to a peer go DIRECT_TIMEOUT apart, evenly. Sans-IO.
"""

from __future__ import annotations

import math
from bisect import insort
from collections import deque
from collections.abc import Callable
from typing import Final, Generic, TypeVar

#: Seconds to wait for an answer before sending again: a request, a push.
TIMEOUT = 0.5
#: Seconds a direct message waits for its ack before it goes again.
DIRECT_TIMEOUT = 0.5
#: The soonest anything goes again: the secure channel's waits end before it.
SOONEST_RETRY = min(TIMEOUT, DIRECT_TIMEOUT)
#: Copies sent in all, the first included, before giving up.
ATTEMPTS = 5
T = TypeVar("T")
#: The longest wait between two copies (RFC 6298 (2.5) allows a cap).
RTO_MAX: Final = 16 * TIMEOUT
#: RFC 6298's gains (2.3) and the factor of the variation in the timeout (2.2).
ALPHA: Final = 1 / 8
BETA: Final = 1 / 4
K: Final = 4.0


class RoundTrip:
    """The far end's round trip as measured (RFC 6298 section 2), and the wait of the next
    copy sent (`rto`)."""

    def __init__(self, floor: float = TIMEOUT, cap: float = RTO_MAX) -> None:
        if not 0 < floor <= cap:
            raise ValueError("the floor must be positive and at most the cap")
        self.floor = floor
        self.cap = cap
        self.srtt: float | None = None  # None until the first sample
        self.rttvar = 0.0
        #: The wait of the next first copy (RFC 6298's RTO), from the floor (not 1 s: a LAN).
        self.rto = floor

    def restart(self) -> None:
        self.srtt, self.rttvar, self.rto = None, 0.0, self.floor

    def gave_up(self) -> None:
        """A request was given up on: the far end is away, not slow. The next request
        waits what the samples give, so that each of an outage's is given up as soon."""
        self.rto = self.estimate()

    def _bounded(self, wait: float) -> float:
        return min(max(wait, self.floor), self.cap)

    def sample(self, rtt: float) -> None:
        """An answer came `rtt` seconds after the one copy of its request (RFC 6298 2.2,
        2.3): the estimate moves towards it, and a backed-off wait returns to it."""
        rtt = max(rtt, 0.0)
        if self.srtt is None:
            self.srtt, self.rttvar = rtt, rtt / 2
        else:
            self.rttvar = (1 - BETA) * self.rttvar + BETA * abs(self.srtt - rtt)
            self.srtt = (1 - ALPHA) * self.srtt + ALPHA * rtt
        self.rto = self._bounded(self.srtt + K * self.rttvar)  # (`estimate`, written out)

    def estimate(self) -> float:
        if self.srtt is None:
            return self.floor
        return self._bounded(self.srtt + K * self.rttvar)

    def backed_off(self, wait: float) -> float:
        """Copies `wait` apart showed the far end behind: the next wait is twice as long
        (RFC 6298 5.5), up to the cap, and so is every request's from now until a sample."""
        longer = self._bounded(2 * wait)
        self.rto = max(self.rto, longer)
        return longer


class Alarm:
    """When its owner is next to be woken: at its earliest deadline, or before. Each
    deadline armed lowers it; the owner sets `at` to its true earliest deadline after its
    timed work (an early wake-up finds nothing due)."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        #: The time to be woken by, or None when nothing waits.
        self.at: float | None = None

    def lower(self, deadline: float | None) -> None:
        if deadline is not None and (self.at is None or deadline < self.at):
            self.at = deadline


class Pending(Generic[T]):
    """One request waiting for its answer: made bare, its fields set by the Retransmitter."""

    key = ""
    item: T
    seq = 0  # the order of first sending: what is due goes oldest first
    sent_at = 0.0  # when its last copy went
    copies = 0  # copies sent in all (Karn's rule: a sample only from one)
    sent = 0  # copies its round has sent
    wait = 0.0  # the wait after each copy of its round
    deadline = 0.0  # when the wait after its last copy is over
    back_off_to = 0.0  # > 0: each copy of a round waits twice the last, up to this
    most = math.inf  # no copy waits longer than this
    round_trip: RoundTrip | None = None  # whose timeout its waits start from, and it samples


class Retransmitter(Generic[T]):
    """Requests by id until answered or given up: each copy is sent again after its
    round's wait, `attempts` copies a round. The wait is `timeout`, or, given a
    `round_trip`, its timeout (RFC 6298); given `round_trip_of`, each item's far end's.
    `alarm` is lowered to each deadline armed.

    Deadlines are queued too, in order, so that `next_wake` and `due` cost what is due, not
    what waits (one armed goes last, nearly always: the waits are mostly equal); one answered
    or re-armed since is skipped at the front, and one answered leaves it at once (with its item).
    """

    def __init__(
        self,
        timeout: float = TIMEOUT,
        attempts: int = ATTEMPTS,
        alarm: Alarm | None = None,
        round_trip: RoundTrip | None = None,
        round_trip_of: Callable[[T], RoundTrip] | None = None,
    ) -> None:
        if timeout <= 0 or attempts < 1:
            raise ValueError("timeout must be positive and attempts at least 1")
        self.timeout = timeout
        self.attempts = attempts
        self.round_trip = round_trip
        self._round_trip_of = round_trip_of
        self._pending: dict[str, Pending[T]] = {}
        #: What waits, by key, as a live view (read-only): `key in waiting` and `not
        #: waiting` ask what `get` and `len` would, as values (asked of every message).
        self.waiting: dict[str, Pending[T]] = self._pending
        self._queue: deque[tuple[float, Pending[T]]] = deque()
        self._seq = 0  # the last given
        self._given_up: dict[str, int] = {}  # the order of those the last `due` gave up
        self._alarm = alarm

    def _arm(self, pending: Pending[T], now: float) -> None:
        pending.sent_at, pending.deadline = now, now + pending.wait
        deadline, queue, alarm = pending.deadline, self._queue, self._alarm
        if queue and deadline < queue[-1][0]:  # a shorter wait, the clock stepped back
            insort(queue, (deadline, pending), key=lambda entry: entry[0])
        else:
            queue.append((deadline, pending))
        if alarm is not None and (alarm.at is None or deadline < alarm.at):
            alarm.at = deadline  # (`Alarm.lower`, written out: every request armed)

    def start(
        self, key: str, item: T, now: float, back_off_to: float = 0.0, most: float = math.inf
    ) -> None:
        """The first copy of `item` was sent at `now` (one sent before keeps its place and
        counts its copies: this one is not a sample). No copy waits longer than `most`; with
        `back_off_to`, each waits twice the one before, up to that (RFC 6298 5.5)."""
        trip = self.round_trip if self._round_trip_of is None else self._round_trip_of(item)
        wait = self.timeout if trip is None else trip.rto
        wait = wait if wait <= most else most
        deadline, pending = now + wait, self._pending.get(key)
        if pending is None:
            self._seq += 1
            pending = self._pending[key] = Pending()
            pending.key, pending.seq = key, self._seq
            pending.back_off_to, pending.most = back_off_to, most
        pending.item, pending.sent_at, pending.copies = item, now, pending.copies + 1
        pending.sent, pending.wait, pending.deadline = 1, wait, deadline
        pending.round_trip = trip
        queue, alarm = self._queue, self._alarm
        if queue and deadline < queue[-1][0]:
            insort(queue, (deadline, pending), key=lambda entry: entry[0])
        else:
            queue.append((deadline, pending))
        if alarm is not None and (alarm.at is None or deadline < alarm.at):
            alarm.at = deadline

    def again(
        self, key: str, item: T, now: float, back_off_to: float = 0.0, most: float = math.inf
    ) -> None:
        """A new round of tries for `item` at `now`, its copy sent again: one the last `due`
        gave up on keeps its place among the items waiting, oldest first (else as `start`)."""
        seq = self._given_up.get(key)
        if seq is not None:
            self._pending.pop(key, None)  # (started since: in its place, anew)
        self.start(key, item, now, back_off_to, most)
        pending = self._pending[key]
        pending.copies += 1  # a copy of what went before
        if seq is not None:
            pending.seq = seq
            ordered = sorted(self._pending.items(), key=lambda kv: kv[1].seq)
            self._pending.clear()  # the same dict, reordered: `waiting` is it
            self._pending.update(ordered)

    def copied(self, key: str, now: float) -> None:
        """A copy of the request `key` went at `now`, before its turn: it counts in its round,
        whose wait starts again."""
        pending = self._pending[key]
        pending.sent, pending.copies = pending.sent + 1, pending.copies + 1
        self._arm(pending, now)

    def answer(self, key: str, now: float | None = None) -> T | None:
        """The answer for `key` came at `now`: forget it and return its item (None if not
        waiting). With a round trip: sent once, it gives a sample; sent again, it doubles
        the timeout until a sample; `now` None: nothing is learnt."""
        pending = self._pending.pop(key, None)
        if pending is None:
            return None
        queue, waiting = self._queue, self._pending
        while queue and waiting.get((first := queue[0][1]).key) is not first:  # answered: out
            queue.popleft()  # now, not all at the next wake-up
        trip = pending.round_trip
        if now is not None and trip is not None:
            if pending.copies == 1:
                trip.sample(now - pending.sent_at)
            else:
                trip.backed_off(pending.wait)
        return pending.item

    def get(self, key: str) -> T | None:
        pending = self._pending.get(key)
        return None if pending is None else pending.item

    def due(self, now: float) -> tuple[list[T], list[T]]:
        """(to send again now, given up: their round sent all its copies) of those whose wait
        is over at `now`, oldest first."""
        # by key: one request renewed twice at one instant is armed twice with one deadline
        live: dict[str, Pending[T]] = {}
        queue = self._queue
        while queue and queue[0][0] <= now:
            deadline, pending = queue.popleft()
            if self._pending.get(pending.key) is pending and pending.deadline == deadline:
                live[pending.key] = pending
        if self._given_up:
            self._given_up = {}
        again: list[T] = []
        failed: list[T] = []
        for pending in sorted(live.values(), key=lambda p: p.seq):
            if pending.sent >= self.attempts:
                del self._pending[pending.key]
                self._given_up[pending.key] = pending.seq
                failed.append(pending.item)
            else:
                pending.sent, pending.copies = pending.sent + 1, pending.copies + 1
                if pending.back_off_to:
                    pending.wait = min(2 * pending.wait, pending.back_off_to, pending.most)
                self._arm(pending, now)
                again.append(pending.item)
        return again, failed

    def renew(self, now: float, *, every: bool = False) -> list[T]:
        """Every item still waiting, oldest first, in a new round of tries at `now`: the
        owner sends each again at once (the far end is back after a silence). One sent at
        `now` already is left as it is, unless `every` (the owner sends elsewhere from now on)."""
        renewed = [p for p in self._pending.values() if every or p.sent_at < now]
        for pending in renewed:
            trip = pending.round_trip
            pending.copies, pending.sent = pending.copies + 1, 1
            pending.wait = min(self.timeout if trip is None else trip.rto, pending.most)
            self._arm(pending, now)
        return [p.item for p in renewed]

    def next_wake(self) -> float | None:
        queue, waiting = self._queue, self._pending
        while queue:  # (the check of `due` written out: this is asked after every event)
            deadline, first = queue[0]
            if waiting.get(first.key) is first and first.deadline == deadline:
                return deadline
            queue.popleft()
        return None

    def __len__(self) -> int:
        return len(self._pending)

    def items(self) -> list[T]:
        return [p.item for p in self._pending.values()]
