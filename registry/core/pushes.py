"""The registry's pushes to peers, waiting for their acks, retried per member, as actions;
numbered in the order made (a channel message given up reaches a mailbox in the order sent).

Each address pushed to has one Member: its datagrams in flight (Units), at most IN_FLIGHT,
and in order what waits behind them. A member has one retry deadline, a timeout after its
last datagram answered in full: then its oldest unanswered datagram goes again, once; one
unanswered when a later one is answered in full was lost, and goes again at once. After
`attempts` copies, its pushes are given up. A channel message is one Flight shared by its
members, entered in their records at the next call (the fast path, bounded by FAST_LIVE
messages), in Units shared by them. A message too big for a datagram goes alone over TCP,
and nothing follows it until it ends. One address is one peer, its owner its newest push's
name key."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from registry.core.actions import Addr, Emit, Send, SendMany
from registry.core.requests import send_to
from registry.core.table import Record
from wire.codec import encode, travels_by_stream
from wire.limits import MAX_DATAGRAM
from wire.messages import Message
from wire.names import name_key
from wire.reliable import ATTEMPTS, TIMEOUT

NEVER: Final = float("inf")  #: the retry deadline of a member with nothing in flight
#: The bytes of a datagram that hold pushes (wire.codec.pack_datagrams: a bracket, ...).
ROOM = MAX_DATAGRAM - 1


class Flight:
    """One message pushed, shared by its members, never changed (hot path: not a Struct);
    `size`, encoded (a streamed one's fills a datagram); `seq`, its place in the order made.
    `purpose`: what a push ended unacked means: "notice" and "outcome" are dropped; "relay",
    "probe" and "room" go again while the peer is probed (registry/core/posts.py)."""

    def __init__(
        self, message: Message, purpose: str, seq: int = 0, size: int = 0, streamed: bool = False
    ) -> None:
        self.message, self.purpose, self.seq, self.size = message, purpose, seq, size
        self.streamed = streamed


#: A push that ended without its ack (given up, or dropped with its peer): its member's
#: owner (a name key) and address, and its flight.
Push = tuple[str, Addr, Flight]


class Unit:
    """A datagram of pushes in flight: its flights not yet acked, by id; how many members
    hold it (never changed while shared: `Pushes._own`); copies of it sent, the send
    numbers of its first and last, when that was, and the bytes left in it."""

    __slots__ = ("copies", "first", "flights", "owing", "room", "sent", "sent_at", "streamed")

    def __init__(self, now: float, sent: int, streamed: bool = False, owing: int = 1) -> None:
        self.flights: dict[str, Flight] = {}
        self.owing = owing
        self.copies, self.first, self.sent, self.sent_at = 1, sent, sent, now
        self.streamed, self.room = streamed, ROOM


class Member:
    """What is pushed to one address: its units in flight, oldest first, and what waits."""

    __slots__ = ("addr", "deadline", "lost", "owner", "units", "waiting")

    def __init__(self, owner: str, addr: Addr) -> None:
        self.owner, self.addr = owner, addr
        self.units: list[Unit] = []
        self.waiting: deque[Flight] = deque()
        self.deadline = NEVER
        #: its units last sent before this send number were lost: they go again (0: none)
        self.lost = 0


#: Datagrams of pushes in flight to one member at most (~1,000 lines), but see FAST_LIVE.
IN_FLIGHT = 64
#: Messages pushed and not ended, anywhere, below which a relay to members that hold
#: nothing back skips their records (`Pushes.add_many`), and so their IN_FLIGHT.
FAST_LIVE = 1024
#: Members kept before the idle ones (nothing pushed) are first swept.
SWEEP_AT = 4096
#: What to send: to each address, these flights' messages, in order.
Sends = list[tuple[Addr, list[Flight]]]
#: The online peers a channel line goes to: their name keys, addresses and public keys, in
#: one order; and whether no two share an address.
Audience = tuple[tuple[str, ...], tuple[Addr, ...], tuple[bytes, ...], bool]


class Pushes:
    """Pushes in flight, IN_FLIGHT datagrams per address at most; the rest queued in order.
    Each is sealed for the key `key_at` tells at its address."""

    def __init__(
        self,
        timeout: float = TIMEOUT,
        attempts: int = ATTEMPTS,
        key_at: Callable[[Addr], bytes] = lambda addr: b"",
        streamed: Callable[[Message], bool] = travels_by_stream,
    ) -> None:
        if timeout <= 0 or attempts < 1:
            raise ValueError("pushes need a timeout > 0 and attempts >= 1")
        self._timeout, self._attempts = timeout, attempts
        self.retry_span = timeout * attempts  #: seconds from a push's first copy to its give-up
        self._key_at, self._streamed = key_at, streamed
        self._seq = itertools.count()  # numbers the pushes in the order made
        # every address pushed to lately: kept when idle, swept when many (`_index`)
        self._members, self._sweep_at = dict[Addr, Member](), SWEEP_AT
        # members holding pushes back (waiting, or behind a streamed one)
        self._held: set[Addr] = set()
        # members with room for pushes waiting, or a datagram lost (sent at the next `due`)
        self._ready, self._ready_at = list[Member](), 0.0
        # (deadline, member): each `now` plus the one timeout, so in order; stale ones skipped
        self._deadlines: deque[tuple[float, Member]] = deque()
        # flights `add_many` sent on its fast path (to whom, Addrs as given; when), not entered
        self._unindexed: list[tuple[Message, str, int, Sequence[str], Sequence[Any], float]] = []
        # message id -> the units holding it (a shared one counts once), and members it waits for
        self._live: dict[str, int] = {}
        self._sends = itertools.count(1)  # numbers the datagrams sent, copies included
        # ids whose end is to be reported (`watch`), and those that may just have ended
        self._watched, self._ending = set[str](), list[str]()

    def push(
        self, records: Iterable[Record], message: Message, purpose: str, now: float, emit: Emit
    ) -> None:
        targets = [(name_key(r.name), r.addr) for r in records]
        addrs = self.add(message, purpose, targets, now, next(self._seq))
        if addrs:
            emit(send_to(addrs, message, self._key_at))

    def again(self, record: Record, flight: Flight, now: float, emit: Emit) -> None:
        """Push `flight` to `record`'s peer again from its first try, in its place in the order
        (should the peer be gone, its mailbox gets it there)."""
        target = [(name_key(record.name), record.addr)]
        if self.add(flight.message, flight.purpose, target, now, flight.seq):
            emit(Send(record.addr, flight.message, self._key_at(record.addr)))

    def relay(self, message: Message, audience: Audience, now: float, emit: Emit) -> int:
        """Push the channel `message` to every peer of `audience`: to how many."""
        keys, addrs, publics, distinct = audience
        seq = next(self._seq)
        if distinct:
            sent = self.add_many(message, "relay", (keys, addrs), now, seq)
        else:
            sent = self.add(message, "relay", zip(keys, addrs, strict=True), now, seq)
        if len(sent) == len(addrs) and len(addrs) > 1:
            emit(SendMany(addrs, message, publics))
        elif sent:
            emit(send_to(sent, message, self._key_at))
        return len(addrs)

    def retry(self, now: float, emit: Emit) -> list[Push]:
        """Send again what is due, and the next datagrams of those answered or given up;
        the pushes given up. Members sent the same messages (a burst's, in step) are sent
        each message once (SendMany: encoded once for all of them)."""
        sends, failed = self.due(now)
        steps: list[tuple[list[Addr], list[Message]]] = []  # (addresses, what each is sent)
        entries: dict[tuple[int, ...], tuple[list[Addr], list[Message]]] = {}
        seen: set[Addr] = set()
        for addr, flights in sends:
            entry = entries.get(same := tuple(map(id, flights)))
            if entry is None or addr in seen:
                entries[same] = entry = ([], [f.message for f in flights])
                steps.append(entry)
            entry[0].append(addr)
            seen.add(addr)
        key_at = self._key_at
        for addrs, messages in steps:
            if len(addrs) == 1:
                key = key_at(addrs[0])
                for message in messages:
                    emit(Send(addrs[0], message, key))
                continue
            many, keys = tuple(addrs), tuple(map(key_at, addrs))
            for message in messages:
                emit(SendMany(many, message, keys))
        return failed

    def add(
        self,
        message: Message,
        purpose: str,
        targets: Iterable[tuple[str, Addr]],
        now: float,
        seq: int = 0,
    ) -> list[Addr]:
        """Push `message` to each (owner, address) of `targets`: the addresses to send it to
        now (with room for it); for the others it waits. An address it is already pushed to
        is left out."""
        self._index()
        streamed = self._streamed(message)
        size = ROOM if streamed else len(encode(message))
        flight = Flight(message, purpose, seq, size, streamed)
        members, msg_id, sent = self._members, message.id, list[Addr]()
        known = msg_id in self._live  # (if not, it is pushed to nobody yet)
        for owner, addr in targets:
            member = members.get(addr)
            if member is None:
                member = members[addr] = Member(owner, addr)
            elif known and (
                any(msg_id in unit.flights for unit in member.units)
                or any(flight.message.id == msg_id for flight in member.waiting)
            ):
                continue  # in flight there, or waiting for it
            member.owner = owner
            self._live[msg_id] = self._live.get(msg_id, 0) + 1
            if member.waiting or not self._into(member, flight, now):
                member.waiting.append(flight)
                self._held.add(addr)
                continue
            sent.append(addr)
        return sent

    def add_many(
        self,
        message: Message,
        purpose: str,
        targets: tuple[Sequence[str], Sequence[Addr]],
        now: float,
        seq: int = 0,
    ) -> Sequence[Addr]:
        """`add` for owners and their addresses as two sequences, the addresses all different
        (a channel's members). When no member holds pushes back and few are in flight, the
        flight is entered in their records only at the next call."""
        owners, addrs = targets
        live = self._live
        if self._held or message.id in live or len(live) >= FAST_LIVE or self._streamed(message):
            return self.add(message, purpose, zip(owners, addrs, strict=True), now, seq)
        if addrs:  # (measured once sent, in `_index`)
            self._unindexed.append((message, purpose, seq, owners, addrs, now))
            self._live[message.id] = 1  # its shared unit's (`_index`)
        return addrs

    def clear_acked(
        self, msg_ids: Sequence[str], addr: Any, now: float
    ) -> tuple[str, list[Flight]]:
        """Acks of `msg_ids` came from the Addr `addr`: its member's owner, and the flights
        answered, in the order pushed (ids of nothing in flight there are ignored); what waits
        may then go (`due` sends it, at `next_wake`)."""
        if self._unindexed:
            self._index()
        member = self._members.get(addr)
        if member is None:
            return "", []
        # the usual: acks of its oldest datagrams, whole and in order (no set; a tuple's is itself)
        units, replies, n, at = member.units, tuple(msg_ids), 0, 0
        done = -1  # the first send of the last unit answered in full
        for unit in units:
            flights = unit.flights
            end = at + len(flights)
            if end > len(replies) or any(replies[at + k] != i for k, i in enumerate(flights)):
                break
            self._unhold_unit(unit)
            n, at, done = n + 1, end, unit.first
        answered = [flight for unit in units[:n] for flight in unit.flights.values()]
        kept = units[n:]
        if at < len(replies):  # the rest: part of a datagram, or out of order
            ids = set(replies[at:])
            left, kept = len(ids), []
            for unit in units[n:]:
                if not left or ids.isdisjoint(unit.flights):
                    kept.append(unit)
                    continue
                unit = self._own(member, unit)
                mine = [msg_id for msg_id in unit.flights if msg_id in ids]
                for msg_id in mine:
                    answered.append(unit.flights.pop(msg_id))
                    self._ended(msg_id)
                left -= len(mine)
                if unit.flights:
                    kept.append(unit)
                    continue
                done = unit.first
        if done >= 0:  # (else no unit ended: one answered in part changed in place)
            member.units = kept
            if kept or member.waiting:
                self._unit_acked(member, done, now)
            else:  # the usual: all answered
                member.deadline, member.lost = NEVER, 0
                self._held.discard(addr)
        return member.owner, answered

    def due(self, now: float) -> tuple[Sends, list[Push]]:
        """At `now`: (what to send: datagrams sent again, a member's oldest once per
        timeout, or found lost, and the next datagrams of members with room made; the
        pushes given up), oldest first."""
        self._index()
        again: list[tuple[Addr, Unit]] = []
        failed: list[Push] = []
        deadlines, members = self._deadlines, self._members
        while deadlines and deadlines[0][0] <= now:
            deadline, member = deadlines.popleft()
            if member.deadline != deadline or members.get(member.addr) is not member:
                continue  # answered, or dropped, since
            oldest = member.units[0]
            if oldest.copies < self._attempts:
                again.append((member.addr, self._again(member, oldest, now)))
            else:  # given up: what waits may take its room
                failed += [(member.owner, member.addr, f) for f in oldest.flights.values()]
                member.units.remove(oldest)
                self._unhold_unit(oldest)
                self._room_made(member, now)
            self._arm((member,), now)
        ready, self._ready = self._ready, []
        for member in ready:
            if members.get(member.addr) is not member:
                continue
            lost, member.lost = member.lost, 0
            for unit in [u for u in member.units if u.sent < lost and u.copies < self._attempts]:
                again.append((member.addr, self._again(member, unit, now)))
            again += [(member.addr, unit) for unit in self._next(member, now)]
        return [(addr, list(unit.flights.values())) for addr, unit in again], failed

    def drop_all(self, addr: Addr) -> list[Push]:
        """Forget and return every push to `addr`, oldest first."""
        self._index()
        member = self._members.pop(addr, None)
        self._held.discard(addr)
        if member is None:
            return []
        member.deadline = NEVER
        flights = [f for unit in member.units for f in unit.flights.values()]
        dropped = [(member.owner, addr, f) for f in flights + list(member.waiting)]
        for unit in member.units:
            self._unhold_unit(unit)
        for flight in member.waiting:
            self._ended(flight.message.id)
        return sorted(dropped, key=lambda push: push[2].seq)

    def watch(self, msg_id: str) -> None:
        """Report message `msg_id` through `ended` once no push of it is in flight or
        waiting (at once, if none is now)."""
        self._watched.add(msg_id)
        self._ending.append(msg_id)

    def ended(self) -> list[str]:
        """The watched message ids no longer pushed to anyone (answered, given up or
        dropped), each reported once, in the order their last push ended."""
        if not self._ending:
            return []
        ending, self._ending = self._ending, []
        over: list[str] = []
        for msg_id in ending:
            if msg_id in self._watched and msg_id not in self._live:
                self._watched.discard(msg_id)
                over.append(msg_id)
        return over

    def next_wake(self) -> float | None:
        if self._ready:
            return self._ready_at
        if self._unindexed:
            return self._unindexed[0][5] + self._timeout
        deadlines, members = self._deadlines, self._members
        while deadlines:
            deadline, member = deadlines[0]
            if member.deadline == deadline and members.get(member.addr) is member:
                return deadline
            deadlines.popleft()
        return None

    def counts(self) -> tuple[int, int]:
        """Pushes in flight, and those waiting."""
        self._index()
        members = self._members.values()
        flying = sum(len(unit.flights) for member in members for unit in member.units)
        return flying, sum(len(member.waiting) for member in members)

    def _into(self, member: Member, flight: Flight, now: float) -> bool:
        """Whether `flight` went in flight to `member` (none behind a streamed one)."""
        units = member.units
        if units and units[-1].sent_at == now and flight.size < units[-1].room:
            unit = self._own(member, units[-1])  # (a relay's, at this same moment: shared)
        elif len(units) < IN_FLIGHT and not any(u.streamed for u in units):
            unit = Unit(now, next(self._sends), flight.streamed)
            units.append(unit)
            if len(units) == 1:
                self._arm((member,), now)
            if flight.streamed:
                self._held.add(member.addr)
        else:
            return False
        unit.flights[flight.message.id] = flight
        unit.room -= flight.size + 1
        return True

    def _arm(self, members: Sequence[Member], now: float) -> None:
        """The retry deadline of each of `members` is a timeout from `now`."""
        deadlines, deadline = self._deadlines, now + self._timeout
        if deadlines and deadline < deadlines[-1][0]:
            deadline = deadlines[-1][0]  # the clock stepped back: keep the order
        deadlines += [(deadline, member) for member in members if member.units]  # (one call)
        for member in members:
            member.deadline = deadline if member.units else NEVER

    def _again(self, member: Member, unit: Unit, now: float) -> Unit:
        unit = self._own(member, unit)
        unit.copies += 1
        unit.sent, unit.sent_at, unit.room = next(self._sends), now, 0
        return unit

    def _unit_acked(self, member: Member, done: int, now: float) -> None:
        """`member`'s unit first sent as `done` was acked: units last sent before it were lost."""
        if any(u.sent < done and u.copies < self._attempts for u in member.units):
            member.lost = max(member.lost, done)
        self._arm((member,), now)
        self._room_made(member, now)

    def _room_made(self, member: Member, now: float) -> None:
        """A datagram to `member` is over or lost: it is ready to send, or idle."""
        if member.waiting or member.lost:
            if not self._ready:
                self._ready_at = now
            if member not in self._ready:
                self._ready.append(member)
        if not (member.waiting or any(unit.streamed for unit in member.units)):
            self._held.discard(member.addr)

    def _next(self, member: Member, now: float) -> list[Unit]:
        """`member` has room: the new units of what waits, in flight from `now`."""
        waiting = member.waiting
        new: list[Unit] = []
        while waiting:
            flight = waiting[0]
            units = len(member.units)
            if not self._into(member, flight, now):
                break
            waiting.popleft()
            if len(member.units) > units:
                new.append(member.units[-1])
        if not (waiting or any(unit.streamed for unit in member.units)):
            self._held.discard(member.addr)
        return new

    def _ended(self, msg_id: str) -> None:
        left = self._live.pop(msg_id) - 1
        if left:
            self._live[msg_id] = left
        elif msg_id in self._watched:
            self._ending.append(msg_id)

    def _own(self, member: Member, unit: Unit) -> Unit:
        """`member`'s `unit`, to change: in its place, a copy of its own if it is shared."""
        if unit.owing == 1:
            return unit
        unit.owing -= 1
        mine = Unit(unit.sent_at, unit.first, unit.streamed)
        mine.flights, mine.room = dict(unit.flights), unit.room
        mine.copies, mine.sent = unit.copies, unit.sent
        live = self._live
        for msg_id in mine.flights:
            live[msg_id] += 1
        units = member.units
        units[units.index(unit)] = mine
        return mine

    def _unhold_unit(self, unit: Unit) -> None:
        unit.owing -= 1
        if not unit.owing:
            for msg_id in unit.flights:
                self._ended(msg_id)

    def _index(self) -> None:
        """Enter the flights `add_many` sent on its fast path in their members' records."""
        if len(self._members) > self._sweep_at:
            self._members = {a: m for a, m in self._members.items() if m.units or m.waiting}
            self._sweep_at = max(SWEEP_AT, 2 * len(self._members))
        unindexed, members = self._unindexed, self._members
        shared: list[Unit] = []
        for n, (message, purpose, seq, owners, addrs, sent) in enumerate(unindexed):
            flight = Flight(message, purpose, seq, len(encode(message)), False)
            if not shared or flight.size >= shared[-1].room or sent != shared[-1].sent_at:
                shared.append(Unit(sent, next(self._sends), owing=len(addrs)))
            shared[-1].flights[flight.message.id] = flight
            shared[-1].room -= flight.size + 1
            if n + 1 < len(unindexed) and unindexed[n + 1][3:5] == (owners, addrs):
                continue  # the next went to the same members: it may share these units
            idle: list[Member] = []
            for owner, addr in zip(owners, addrs, strict=True):
                member = members.get(addr)
                if member is None:
                    member = members[addr] = Member(owner, addr)
                member.owner = owner
                if not member.units:
                    idle.append(member)
                member.units += shared
            self._arm(idle, shared[0].sent_at)
            shared = []
        unindexed.clear()
