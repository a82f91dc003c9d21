"""The registry's pushes to peers, waiting for their acks, with a window per peer.

Pure: no clock, no sockets. One message pushed to many peers (a channel or room message,
a table update) is one Flight: the message, and the addresses that still owe an ack. It
has one retry deadline, so a relay to 100 members costs one timer and a few dict entries
per member, not an object and a timer each; a retry resends to those still owing only.

A relay or a burst of table changes may queue thousands of pushes for one peer. Sent all
at once, most of them would wait in the peer's socket buffer longer than the retry
timeout, be sent again, and the copies would bury the peer in work it has already done
(congestion collapse). So at most a window of pushes per address is in flight; the rest
wait here, in order, and go out as acks make room. A push's retry timer starts when it is
sent, not when it was queued.

The window is as TCP's: WINDOW while a peer keeps up, halved (down to MIN_WINDOW) when
retries are needed (at most once per timeout), one larger for each ack after that. A peer
on a fast machine takes a burst of hundreds of messages as shared flights in one go (a
burst released push by push costs the registry several times more per delivery); a slow
one soon gets only what it can answer within the timeout.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Sequence

from msgspec import Struct

from registry.core.actions import Addr
from wire.messages import Message
from wire.reliable import ATTEMPTS, TIMEOUT, Retransmitter

#: Pushes in flight to one address that keeps up: a peer's share of 1024 channel messages
#: is ~100 full datagrams and well under a second of its work; its 4 MiB socket buffer
#: holds them.
WINDOW = 1024
#: The least a window shrinks to (a peer that needed retries).
MIN_WINDOW = 16


class Push(Struct, frozen=True):
    """A message pushed to one peer: what waits in a window's queue, and what a push
    that ends without its ack (given up, or dropped with its peer) is reported as.

    `purpose` says what a missing ack means: "notice" and "outcome" are just dropped;
    "relay" (a channel message), "probe" (a direct message the registry delivers itself)
    and "room" (a room line or notice) are sent again while the peer is probed, and only a
    peer that answers nothing is marked offline (out of its room, the channel and direct
    messages in its mailbox: registry/core/failures.py).
    """

    owner: str
    addr: Addr
    message: Message
    purpose: str
    #: order in which the registry made its pushes, so failures can be acted on in order
    seq: int = 0
    #: whether it travels over TCP (too big for a datagram; see Pushes)
    streamed: bool = False


class Flight(Struct, eq=False):
    """One message sent to `owners` (address -> owner's name key) that still owe an ack;
    `key` is its entry in the retry queue."""

    message: Message
    purpose: str
    seq: int
    key: str
    #: (no default_factory: the compiled build takes none; each flight is given its own)
    owners: dict[Addr, str]
    #: (owners, their addresses) of a flight `add_many` started, until `_index` makes them
    #: `owners`
    targets: tuple[Sequence[str], Sequence[Addr]] | None = None


class Pushes:
    """Pushes in flight by (message id, address), at most `window` per address; the rest
    queued in order."""

    def __init__(
        self,
        timeout: float = TIMEOUT,
        attempts: int = ATTEMPTS,
        window: int = WINDOW,
        streamed: Callable[[Message], bool] = lambda message: False,
    ) -> None:
        """`streamed` says whether a message travels over TCP (too big for a datagram).
        Such a push arrives after datagrams sent later, so while one is in flight to an
        address, what follows it to that address waits for its ack (or its give-up):
        members see a long channel message and the short one after it in that order."""
        if window < 1:
            raise ValueError("window must be at least 1")
        # one retry entry per flight (wire/reliable.py: attempts, deadlines in FIFO order)
        self._retry: Retransmitter[Flight] = Retransmitter(timeout, attempts)
        self._keys = itertools.count()
        self._timeout = timeout
        self._window = window
        self._min_window = min(MIN_WINDOW, window)
        # per address, message id -> its flight, in the order first sent; the flights
        # `add` started on its fast path are entered here only when next needed (_index)
        self._flying: dict[Addr, dict[str, Flight]] = {}
        self._unindexed: list[Flight] = []
        # message id -> how many flights of it are in flight (to any address)
        self._live_ids: dict[str, int] = {}
        self._queued: dict[Addr, deque[Push]] = {}
        # message id -> how many pushes of it wait for room (in any address's queue)
        self._queued_ids: dict[str, int] = {}
        # windows smaller than `window`, of peers that needed retries, and when each was
        # last halved
        self._shrunk: dict[Addr, int] = {}
        self._halved: dict[Addr, float] = {}
        # at most the least of `_shrunk` (windows only grow between halvings): with fewer
        # flights than this in flight, no address is at its window
        self._floor = window
        self._streamed = streamed
        # addresses with a streamed push in flight: its message id
        self._blocked: dict[Addr, str] = {}
        # ids whose end is to be reported (`watch`), and those of them whose last push
        # may just have ended (checked by `ended`: a push leaving its queue is between
        # the two counts for a moment, see `_landed`)
        self._watched: set[str] = set()
        self._ending: list[str] = []

    def add(
        self,
        message: Message,
        purpose: str,
        targets: Iterable[tuple[str, Addr]],
        now: float,
        seq: int = 0,
    ) -> list[Addr]:
        """Push `message` to each (owner, address) of `targets`; return the addresses to
        send it to now. The others wait for room in their window; an address it is already
        in flight to is left out (the ack that is coming answers both)."""
        flight = Flight(message, purpose, seq, str(next(self._keys)), {})
        return self._add(flight, targets, now, self._streamed(message))

    def add_many(
        self,
        message: Message,
        purpose: str,
        targets: tuple[Sequence[str], Sequence[Addr]],
        now: float,
        seq: int = 0,
    ) -> Sequence[Addr]:
        """`add` for targets given as two sequences of the same length, owners and their
        addresses, the addresses all different (a relay to a channel's members): on `add`'s
        fast path even the owners wait to be recorded until the next call, so that nothing
        per member is touched before the sends."""
        streamed = self._streamed(message)
        owners, addrs = targets
        flight = Flight(message, purpose, seq, str(next(self._keys)), {})
        if not (addrs and not streamed and self._unlimited(message.id)):
            return self._add(flight, zip(owners, addrs, strict=True), now, streamed)
        flight.targets = targets
        self._unindexed.append(flight)
        self._started(flight, now)
        return addrs

    def _unlimited(self, msg_id: str) -> bool:
        """Whether a new push of `msg_id` reaches every target at once: nobody waits for
        room, no window is blocked, fewer flights are in flight than the smallest window
        holds (so no address can be at its window: a peer's window shrunk after retries
        in a join storm does not hold back every relay to the others), and this id is new."""
        if self._queued or self._blocked or msg_id in self._live_ids:
            return False
        flights = len(self._retry)
        if flights < self._floor:
            return True
        if flights >= self._window or not self._shrunk:
            return False
        self._floor = min(self._shrunk.values())  # the windows grew back since: look again
        return flights < self._floor

    def _add(
        self, flight: Flight, targets: Iterable[tuple[str, Addr]], now: float, streamed: bool
    ) -> list[Addr]:
        """Start `flight` to each (owner, address) of `targets` (see `add`)."""
        # The usual case, a relay to members that keep up (`_unlimited`): every target gets
        # it, and the per-address bookkeeping waits until the next call: a relay's datagrams
        # leave before it is done.
        if not streamed and self._unlimited(flight.message.id):
            targets = list(targets)
            owners = {addr: owner for owner, addr in targets}
            if len(owners) == len(targets):  # (one address twice: the careful way below)
                if owners:
                    flight.owners = owners
                    self._unindexed.append(flight)
                    self._started(flight, now)
                return list(owners)
        self._index()
        self._add_each(flight, targets, streamed)
        if flight.owners:
            self._started(flight, now)
        return list(flight.owners)

    def _add_each(
        self, flight: Flight, targets: Iterable[tuple[str, Addr]], streamed: bool
    ) -> None:
        """Put `flight` in flight to each target with room in its window, and queue a push
        of it for each of the others (the indexed way: `_add`'s fast path could not)."""
        message, msg_id, owners = flight.message, flight.message.id, flight.owners
        window, queued, shrunk, all_flying = self._window, self._queued, self._shrunk, self._flying
        blocked = self._blocked
        limited = bool(queued or shrunk or blocked)
        for owner, addr in targets:
            flying = all_flying.get(addr)
            if flying is None:
                flying = all_flying[addr] = {}
            elif msg_id in flying:
                continue
            if len(flying) >= window or (
                limited
                and (addr in queued or addr in blocked or len(flying) >= shrunk.get(addr, window))
            ):
                push = Push(owner, addr, message, flight.purpose, flight.seq, streamed)
                queued.setdefault(addr, deque()).append(push)
                self._queued_ids[msg_id] = self._queued_ids.get(msg_id, 0) + 1
                continue
            flying[msg_id] = flight
            owners[addr] = owner
            if streamed:
                blocked[addr] = msg_id

    def answer(
        self, msg_ids: Iterable[str], addr: Addr, now: float
    ) -> tuple[list[tuple[Flight, str]], list[Push]]:
        """Acks for each of `msg_ids` came from `addr` (one Acks answers a datagram of
        pushes): ((flight, owner) for each id that answers a flight, in order; pushes let
        out of the window to send now). Ids of nothing in flight to `addr` are ignored."""
        if self._unindexed:
            self._index()
        flying = self._flying.get(addr)
        if flying is None:
            return [], []
        answered: list[tuple[Flight, str]] = []
        pop = flying.pop
        for msg_id in msg_ids:
            flight = pop(msg_id, None)
            if flight is None:
                continue
            owners = flight.owners  # (`_take`, inline: this is every delivery's path)
            answered.append((flight, owners.pop(addr)))
            if not owners:
                self._retry.answer(flight.key)
                self._ended(flight)
        if not answered:
            return answered, []
        if self._shrunk:
            self._grow(addr, len(answered))
        if addr in self._blocked:
            self._unblock(addr)
        if addr in self._queued:
            return answered, self._landed(addr, now)
        if not flying:
            del self._flying[addr]
        return answered, []

    def due(self, now: float) -> tuple[list[tuple[list[Addr], Message]], list[Push], list[Push]]:
        """At `now`: (messages to send again, each with the addresses still owing; pushes
        given up; pushes let out of the window to send now), each oldest first."""
        self._index()
        retry, given_up = self._retry.due(now)
        again: list[tuple[list[Addr], Message]] = []
        for flight in retry:
            for addr in flight.owners:
                self._halve(addr, now)
            again.append((list(flight.owners), flight.message))
        failed: list[Push] = []
        released: list[Push] = []
        for flight in given_up:
            self._ended(flight)
            owners, flight.owners = flight.owners, {}
            for addr, owner in owners.items():
                self._flying[addr].pop(flight.message.id, None)
                failed.append(Push(owner, addr, flight.message, flight.purpose, flight.seq))
            for addr in owners:
                released += self._landed(addr, now)
        return again, failed, released

    def drop_all(self, addr: Addr) -> list[Push]:
        """Forget and return every push to `addr`: those in flight, then those queued."""
        self._index()
        dropped: list[Push] = []
        for flight in self._flying.pop(addr, {}).values():
            owner = self._take(flight, addr)
            dropped.append(Push(owner, addr, flight.message, flight.purpose, flight.seq))
        for push in self._queued.pop(addr, ()):
            self._unqueued(push.message.id)
            dropped.append(push)
        self._blocked.pop(addr, None)
        self._shrunk.pop(addr, None)
        self._halved.pop(addr, None)
        if not self._shrunk:
            self._floor = self._window
        return dropped

    def pending(self, msg_id: str) -> bool:
        """Whether message `msg_id` is still pushed to anyone: in flight, or waiting for
        room in a window. Once not, every push of it was answered, given up or dropped."""
        return msg_id in self._live_ids or msg_id in self._queued_ids

    def watch(self, msg_id: str) -> None:
        """Report message `msg_id` through `ended` once it is no longer `pending` (at once,
        if it is not now): a relay's sender is told when every member has it or is gone."""
        self._watched.add(msg_id)
        self._ending.append(msg_id)

    def ended(self) -> list[str]:
        """The watched message ids that are no longer pending, each reported once (and
        watched no more), in the order their last push ended."""
        if not self._ending:
            return []
        ending, self._ending = self._ending, []
        over: list[str] = []
        watched = self._watched
        for msg_id in ending:
            if msg_id in watched and not self.pending(msg_id):
                watched.discard(msg_id)
                over.append(msg_id)
        return over

    def next_wake(self) -> float | None:
        """The earliest retry deadline, or None."""
        return self._retry.next_wake()

    def in_flight(self) -> int:
        """Pushes sent and not yet answered, given up or dropped."""
        self._index()
        return sum(len(flying) for flying in self._flying.values())

    def queued(self) -> int:
        """Pushes waiting for room in their window."""
        return sum(len(q) for q in self._queued.values())

    def _take(self, flight: Flight, addr: Addr) -> str:
        """`addr` no longer owes `flight` an ack: its owner. A flight no one owes is done."""
        owner = flight.owners.pop(addr)
        if not flight.owners:
            self._retry.answer(flight.key)
            self._ended(flight)
        return owner

    def _started(self, flight: Flight, now: float) -> None:
        """`flight` was sent to its owners at `now`."""
        self._retry.start(flight.key, flight, now)
        msg_id = flight.message.id
        self._live_ids[msg_id] = self._live_ids.get(msg_id, 0) + 1

    def _ended(self, flight: Flight) -> None:
        """`flight` is over: every owner acked, it was given up, or its peers dropped."""
        msg_id = flight.message.id
        left = self._live_ids.pop(msg_id) - 1
        if left:
            self._live_ids[msg_id] = left
        elif msg_id in self._watched:
            self._ending.append(msg_id)

    def _unqueued(self, msg_id: str) -> None:
        """A push of `msg_id` left its queue (sent, or dropped)."""
        left = self._queued_ids.pop(msg_id) - 1
        if left:
            self._queued_ids[msg_id] = left
        elif msg_id in self._watched:
            self._ending.append(msg_id)

    def _index(self) -> None:
        """Enter the flights `add` started on its fast path in the per-address tables."""
        unindexed, self._unindexed = self._unindexed, []
        all_flying = self._flying
        for flight in unindexed:
            if flight.targets is not None:
                owners, addrs = flight.targets
                flight.owners, flight.targets = dict(zip(addrs, owners, strict=True)), None
            msg_id = flight.message.id
            for addr in flight.owners:
                flying = all_flying.get(addr)
                if flying is None:
                    all_flying[addr] = {msg_id: flight}
                else:
                    flying[msg_id] = flight

    def window_of(self, addr: Addr) -> int:
        """How many pushes may be in flight to `addr` now."""
        return self._shrunk.get(addr, self._window)

    def _grow(self, addr: Addr, acks: int) -> None:
        """`addr` acked `acks` pushes: its window, if shrunk, grows by as many."""
        shrunk = self._shrunk.get(addr)
        if shrunk is None:
            return
        if shrunk + acks < self._window:
            self._shrunk[addr] = shrunk + acks
            return
        del self._shrunk[addr], self._halved[addr]
        if not self._shrunk:
            self._floor = self._window

    def _halve(self, addr: Addr, now: float) -> None:
        """`addr` needed a retry: halve its window, once per timeout (the retries of one
        burst come due together and are one sign of one overload)."""
        if now - self._halved.get(addr, float("-inf")) < self._timeout:
            return
        self._shrunk[addr] = shrunk = max(self._min_window, self.window_of(addr) // 2)
        self._halved[addr] = now
        self._floor = min(self._floor, shrunk)

    def _unblock(self, addr: Addr) -> None:
        """Let pushes go to `addr` again once its streamed push is no longer in flight."""
        if self._blocked[addr] not in self._flying.get(addr, ()):
            del self._blocked[addr]

    def _landed(self, addr: Addr, now: float) -> list[Push]:
        """A push to `addr` is no longer in flight: let its queue move up (up to and
        including the next streamed push, which holds the rest back in turn)."""
        if addr in self._blocked:
            self._unblock(addr)
        flying = self._flying.get(addr)
        if flying is None:
            return []
        queue = self._queued.get(addr)
        released: list[Push] = []
        limit = self._shrunk.get(addr, self._window)
        while queue and len(flying) < limit and addr not in self._blocked:
            push = queue.popleft()
            self._unqueued(push.message.id)
            if push.message.id in flying:
                continue  # already on its way (see `add`)
            flight = Flight(push.message, push.purpose, push.seq, str(next(self._keys)), {})
            flight.owners[addr] = push.owner
            flying[push.message.id] = flight
            self._started(flight, now)
            released.append(push)
            if push.streamed:
                self._blocked[addr] = push.message.id
        if not queue:
            self._queued.pop(addr, None)
            if not flying:
                del self._flying[addr]
        return released
