"""The registry's pushes to peers, waiting for their acks: one record per member.

Pure: no clock, no sockets. One message pushed to many peers (a channel or room message,
a table update) is one Flight: the message, the addresses it went to, and how many of them
still owe an ack. It has one retry deadline, so a relay to 100 members costs one timer and
a dict entry per member, not an object and a timer each; a retry resends to those still
owing only.

Each address pushed to has one Member record: what is in flight to it (by message id, in
the order sent), what waits for room, and its window. An ack is one lookup of the member
and one entry taken from it per id; an Acks answers a datagram of pushes at once.

A relay or a burst of table changes may queue thousands of pushes for one peer. Sent all
at once, most of them would wait in the peer's socket buffer longer than the retry
timeout, be sent again, and the copies would bury the peer in work it has already done
(congestion collapse). So at most a window of pushes per address is in flight; the rest
wait in its record, in order, and go out as acks make room. A push's retry timer starts
when it is sent, not when it was queued.

The window is as TCP's: WINDOW while a peer keeps up, halved (down to MIN_WINDOW) when
retries are needed (at most once per timeout), one larger for each ack after that. A peer
on a fast machine takes a burst of hundreds of messages as shared flights in one go (a
burst released push by push costs the registry several times more per delivery); a slow
one soon gets only what it can answer within the timeout.

One address is one peer (a name registering at another's address takes it over, and
what was pushed to the other is dropped: registry/core/presence.py): its record's owner is
the name key of its newest push, so a rename's pushes in flight are answered under the
new name.
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
#: Members kept before the idle ones (nothing pushed, a whole window) are first swept.
SWEEP_AT = 4096


class Push(Struct, frozen=True):
    """A message pushed to one peer: what waits in a member's queue, and what a push
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
    """One message sent to `addrs`, `owing` of which still owe an ack (those whose
    member still holds this flight); `key` is its entry in the retry queue."""

    message: Message
    purpose: str
    seq: int
    key: str
    addrs: Sequence[Addr]
    owing: int
    #: the owners of `addrs`, until the flight is entered in their members (`_index`)
    owners: Sequence[str] | None = None


class Member:
    """What is pushed to one address: its flights by message id, in the order sent; the
    pushes that wait for room; its window, and when it was last halved."""

    __slots__ = ("blocked", "flying", "halved_at", "owner", "waiting", "window")

    def __init__(self, owner: str, window: int) -> None:
        self.owner = owner
        self.flying: dict[str, Flight] = {}
        self.waiting: deque[Push] = deque()
        self.window = window
        self.halved_at = float("-inf")
        #: the id of a streamed push in flight ("": none): what follows waits for it
        self.blocked = ""


class Pushes:
    """Pushes in flight, at most a window per address; the rest queued in order."""

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
        self._streamed = streamed
        # every address pushed to lately: kept when idle (a relay's members are pushed to
        # again soon), swept when they are many (`_sweep`)
        self._members: dict[Addr, Member] = {}
        self._sweep_at = SWEEP_AT
        # flights `add` started on its fast path, entered in their members when next needed
        self._unindexed: list[Flight] = []
        # message id -> its pushes not ended (flights in flight, and pushes queued)
        self._live: dict[str, int] = {}
        # members that hold pushes back (some wait, or a streamed one is in flight), and
        # those whose window is shrunk: while there are none, a new message goes to all
        self._held: set[Addr] = set()
        self._shrunk: set[Addr] = set()
        # at most the least window of `_shrunk` (windows only grow between halvings): with
        # fewer flights than this in flight, no address is at its window
        self._floor = window
        # ids whose end is to be reported (`watch`), and those that may just have ended
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
        targets = list(targets)
        owners = [owner for owner, _ in targets]
        addrs = [addr for _, addr in targets]
        if len(set(addrs)) < len(addrs):  # (one address twice: the careful way)
            flight = Flight(message, purpose, seq, str(next(self._keys)), addrs, 0)
            return self._add_each(flight, (owners, addrs), now, self._streamed(message))
        return list(self.add_many(message, purpose, (owners, addrs), now, seq))

    def add_many(
        self,
        message: Message,
        purpose: str,
        targets: tuple[Sequence[str], Sequence[Addr]],
        now: float,
        seq: int = 0,
    ) -> Sequence[Addr]:
        """`add` for targets given as two sequences of the same length, owners and their
        addresses, the addresses all different (a relay to a channel's members). In the
        usual case, members that keep up, nothing per member is touched before the sends:
        the flight is entered in their records at the next call."""
        owners, addrs = targets
        streamed = self._streamed(message)
        flight = Flight(message, purpose, seq, str(next(self._keys)), addrs, len(addrs), owners)
        if not (addrs and not streamed and self._unlimited(message.id)):
            return self._add_each(flight, targets, now, streamed)
        self._unindexed.append(flight)
        self._started(flight, now)
        return addrs

    def _unlimited(self, msg_id: str) -> bool:
        """Whether a new push of `msg_id` reaches every target at once: no member holds
        pushes back, fewer flights are in flight than the smallest window holds (so no
        address can be at its window: a peer's window shrunk after retries in a join storm
        does not hold back every relay to the others), and this id is new."""
        if self._held or msg_id in self._live:
            return False
        flights = len(self._retry)
        if flights >= self._floor:
            if flights >= self._window or not self._shrunk:
                return False
            self._floor = min(self._members[addr].window for addr in self._shrunk)
            if flights >= self._floor:
                return False
        return True

    def _add_each(
        self,
        flight: Flight,
        targets: tuple[Sequence[str], Sequence[Addr]],
        now: float,
        streamed: bool,
    ) -> list[Addr]:
        """Put `flight` in flight to each target with room in its window, and queue a
        push of it for each of the others (the careful way: see `add_many`)."""
        self._index()
        message, members, live = flight.message, self._members, self._live
        msg_id, sent = message.id, list[Addr]()
        flight.addrs, flight.owners = sent, None
        for owner, addr in zip(*targets, strict=True):
            member = members.get(addr)
            if member is None:
                member = members[addr] = Member(owner, self._window)
            elif msg_id in member.flying:
                continue
            member.owner = owner
            if member.blocked or member.waiting or len(member.flying) >= member.window:
                push = Push(owner, addr, message, flight.purpose, flight.seq, streamed)
                member.waiting.append(push)
                self._held.add(addr)
                live[msg_id] = live.get(msg_id, 0) + 1
                continue
            member.flying[msg_id] = flight
            sent.append(addr)
            if streamed:
                member.blocked = msg_id
                self._held.add(addr)
        if sent:
            flight.owing = len(sent)
            self._started(flight, now)
        return list(sent)

    def answer(
        self, msg_ids: Iterable[str], addr: Addr, now: float
    ) -> tuple[str, list[Flight], list[Push]]:
        """Acks for each of `msg_ids` came from `addr` (one Acks answers a datagram of
        pushes): (its member's owner, the flights answered, in order; pushes let out of
        its window to send now). Ids of nothing in flight to `addr` are ignored."""
        if self._unindexed:
            self._index()
        member = self._members.get(addr)
        if member is None:
            return "", [], []
        answered: list[Flight] = []
        pop = member.flying.pop
        for msg_id in msg_ids:
            flight = pop(msg_id, None)
            if flight is None:
                continue
            answered.append(flight)
            flight.owing -= 1
            if not flight.owing:
                self._retry.answer(flight.key)
                self._ended(msg_id)
        if not answered:
            return member.owner, answered, []
        if member.window < self._window:
            self._grow(addr, member, len(answered))
        released = self._landed(addr, member, now) if addr in self._held else []
        return member.owner, answered, released

    def due(self, now: float) -> tuple[list[tuple[list[Addr], Message]], list[Push], list[Push]]:
        """At `now`: (messages to send again, each with the addresses still owing; pushes
        given up; pushes let out of the window to send now), each oldest first."""
        self._index()
        retry, given_up = self._retry.due(now)
        again: list[tuple[list[Addr], Message]] = []
        retried: set[Addr] = set()  # (a burst's flights retry the same members)
        for flight in retry:
            owing = self._owing(flight)
            retried.update(owing)
            again.append((owing, flight.message))
        for addr in retried:
            self._halve(addr, now)
        failed: list[Push] = []
        released: list[Push] = []
        for flight in given_up:
            msg_id = flight.message.id
            owing = self._owing(flight)
            for addr in owing:
                member = self._members[addr]
                del member.flying[msg_id]
                failed.append(Push(member.owner, addr, flight.message, flight.purpose, flight.seq))
            flight.owing = 0
            self._ended(msg_id)
            for addr in owing:
                released += self._landed(addr, self._members[addr], now)
        return again, failed, released

    def drop_all(self, addr: Addr) -> list[Push]:
        """Forget and return every push to `addr`: those in flight, then those queued."""
        self._index()
        member = self._members.pop(addr, None)
        self._held.discard(addr)
        self._shrunk.discard(addr)
        if not self._shrunk:
            self._floor = self._window
        if member is None:
            return []
        dropped: list[Push] = []
        for msg_id, flight in member.flying.items():
            flight.owing -= 1
            if not flight.owing:
                self._retry.answer(flight.key)
                self._ended(msg_id)
            dropped.append(Push(member.owner, addr, flight.message, flight.purpose, flight.seq))
        for push in member.waiting:
            self._ended(push.message.id)
            dropped.append(push)
        return dropped

    def pending(self, msg_id: str) -> bool:
        """Whether message `msg_id` is still pushed to anyone: in flight, or waiting for
        room in a window. Once not, every push of it was answered, given up or dropped."""
        return msg_id in self._live

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
            if msg_id in watched and msg_id not in self._live:
                watched.discard(msg_id)
                over.append(msg_id)
        return over

    def next_wake(self) -> float | None:
        """The earliest retry deadline, or None."""
        return self._retry.next_wake()

    def in_flight(self) -> int:
        """Pushes sent and not yet answered, given up or dropped."""
        self._index()
        return sum(len(member.flying) for member in self._members.values())

    def queued(self) -> int:
        """Pushes waiting for room in their window."""
        return sum(len(self._members[addr].waiting) for addr in self._held)

    def window_of(self, addr: Addr) -> int:
        """How many pushes may be in flight to `addr` now."""
        member = self._members.get(addr)
        return self._window if member is None else member.window

    # -- within ----------------------------------------------------------------------------

    def _owing(self, flight: Flight) -> list[Addr]:
        """The addresses that still owe `flight` an ack."""
        msg_id, members = flight.message.id, self._members
        owing: list[Addr] = []
        for addr in flight.addrs:
            member = members.get(addr)
            if member is not None and member.flying.get(msg_id) is flight:
                owing.append(addr)
        return owing

    def _started(self, flight: Flight, now: float) -> None:
        """`flight` was sent to its owners at `now`."""
        self._retry.start(flight.key, flight, now)
        msg_id = flight.message.id
        self._live[msg_id] = self._live.get(msg_id, 0) + 1

    def _ended(self, msg_id: str) -> None:
        """A flight or a queued push of `msg_id` is over: answered, given up or dropped."""
        left = self._live.pop(msg_id) - 1
        if left:
            self._live[msg_id] = left
        elif msg_id in self._watched:
            self._ending.append(msg_id)

    def _index(self) -> None:
        """Enter the flights `add_many` started on its fast path in their members."""
        if len(self._members) > self._sweep_at:
            self._sweep()
        if not self._unindexed:
            return
        unindexed, self._unindexed = self._unindexed, []
        # a burst's flights go to the same members: each member is looked up once for
        # all of them, and takes them in one update, in order
        start = 0
        while start < len(unindexed):
            first, end = unindexed[start], start + 1
            while end < len(unindexed) and _same_targets(unindexed[end], first):
                end += 1
            self._enter(unindexed[start:end])
            start = end

    def _enter(self, flights: list[Flight]) -> None:
        """Enter `flights`, to the same targets, in their members (see `_index`)."""
        owners, addrs = flights[0].owners or (), flights[0].addrs
        entries = [(flight.message.id, flight) for flight in flights]
        for flight in flights:
            flight.owners = None
        members, window = self._members, self._window
        for owner, addr in zip(owners, addrs, strict=True):
            member = members.get(addr)
            if member is None:
                member = members[addr] = Member(owner, window)
            else:
                member.owner = owner
            member.flying.update(entries)

    def _sweep(self) -> None:
        """Forget the members with nothing pushed and a whole window (peers gone quiet,
        or moved): the next sweep comes when the rest have doubled, so each member
        created costs a sweep's work at most once."""
        window = self._window
        self._members = {
            addr: member
            for addr, member in self._members.items()
            if member.flying or member.waiting or member.window < window
        }
        self._sweep_at = max(SWEEP_AT, 2 * len(self._members))

    def _grow(self, addr: Addr, member: Member, acks: int) -> None:
        """`addr` acked `acks` pushes: its shrunk window grows by as many."""
        if member.window + acks < self._window:
            member.window += acks
            return
        member.window, member.halved_at = self._window, float("-inf")
        self._shrunk.discard(addr)
        if not self._shrunk:
            self._floor = self._window

    def _halve(self, addr: Addr, now: float) -> None:
        """`addr` needed a retry: halve its window, once per timeout (the retries of one
        burst come due together and are one sign of one overload)."""
        member = self._members[addr]
        if now - member.halved_at < self._timeout:
            return
        member.window = window = max(self._min_window, member.window // 2)
        member.halved_at = now
        self._shrunk.add(addr)
        self._floor = min(self._floor, window)

    def _landed(self, addr: Addr, member: Member, now: float) -> list[Push]:
        """Pushes to `addr` are no longer in flight: let its queue move up (up to and
        including the next streamed push, which holds the rest back in turn)."""
        flying, waiting = member.flying, member.waiting
        if member.blocked and member.blocked not in flying:
            member.blocked = ""
        released: list[Push] = []
        while waiting and len(flying) < member.window and not member.blocked:
            push = waiting.popleft()
            msg_id = push.message.id
            if msg_id in flying:
                self._ended(msg_id)
                continue  # already on its way (see `add`)
            flight = Flight(push.message, push.purpose, push.seq, str(next(self._keys)), [addr], 1)
            flying[msg_id] = flight
            self._retry.start(flight.key, flight, now)  # (its push was counted live already)
            released.append(push)
            if push.streamed:
                member.blocked = msg_id
        if not (waiting or member.blocked):
            self._held.discard(addr)
        return released


def _same_targets(flight: Flight, other: Flight) -> bool:
    """Whether two flights not yet entered go to the same owners at the same addresses
    (equal sequences: compared item by item, most often the same objects)."""
    return flight.addrs == other.addrs and flight.owners == other.owners
