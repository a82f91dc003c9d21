"""Pushing messages to peers until they ack them, in the order they were made.

Pure. What is in flight is registry/core/pushes.py's; this part numbers every push (a channel
message given up reaches a mailbox in the order sent) and sends each datagram of pushes as
one Pushed where an event ends (`flush`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import cast

from registry.core.actions import Addr, Emit, Send, SendMany
from registry.core.push_records import Push, Unit
from registry.core.pushes import Pushes
from registry.core.table import Record
from registry.core.table_changes import Roster
from wire.messages import Message, Pushable, Pushed
from wire.names import name_key

#: The members of a relay: their name keys, addresses and public keys, in one order.
Audience = tuple[tuple[str, ...], tuple[Addr, ...], tuple[bytes, ...]]


class Pusher:
    """Every push awaiting an ack: retried every `timeout` seconds, `attempts` times."""

    def __init__(self, timeout: float, attempts: int, key_at: Callable[[Addr], bytes]) -> None:
        """Pushes retried every `timeout` seconds, `attempts` times; each sealed for the key
        `key_at` says is online at its address (b"": none, and it is not sent)."""
        self._key_at = key_at
        self.pushes = Pushes(timeout, attempts)
        #: seconds from a push's first copy to its give-up
        self.retry_span = timeout * attempts
        self._seq = itertools.count()
        # the public keys of the roster's online peers, in its order, and the table change
        # they are of: a burst relays every line to the same members, and `key_at` (a
        # lookup and a key decoded per member) was the largest part of a relay's cost
        self._roster_keys: tuple[int, tuple[bytes, ...]] = (-1, ())
        # the last relay's table change and sender, and its members' name keys, addresses
        # and public keys: a burst's lines share these tuples, which the endpoint then
        # knows for the same members by identity, not member by member
        self._audience: tuple[int, str, Audience] = (-1, "", ((), (), ()))

    def push(self, record: Record, message: Message, purpose: str, now: float) -> None:
        """Push `message` to `record`'s peer, for `purpose` (registry/core/pushes.py)."""
        self.push_all((record,), message, purpose, now)

    def push_all(self, to: Iterable[Record], message: Message, purpose: str, now: float) -> None:
        """Push `message` to the peer of each record of `to`, sent at `flush`, and track the
        acks (the table's pushes are registry/core/table_watch.py's)."""
        targets = [(name_key(r.name), r.addr) for r in to]
        self.pushes.add(message, purpose, targets, now, next(self._seq))

    def relay(self, message: Message, roster: Roster, sender: str, now: float) -> int:
        """Push the channel `message` to every online peer of `roster` but `sender` (a name
        key): to how many."""
        keys, addrs, _ = self._members_but(roster, sender)
        seq = next(self._seq)
        if roster.distinct:
            self.pushes.add_many(message, "relay", (keys, addrs), now, seq)
        else:
            self.pushes.add(message, "relay", zip(keys, addrs, strict=True), now, seq)
        return len(addrs)

    def _members_but(self, roster: Roster, sender: str) -> Audience:
        """`roster.online_but(sender)` and their public keys, in its order: looked up once
        per change of the table, and made once per sender."""
        generation, who, audience = self._audience
        if generation == roster.generation and who == sender:
            return audience
        generation, publics = self._roster_keys
        if generation != roster.generation:
            publics = tuple(map(self._key_at, roster.addrs))
            self._roster_keys = (roster.generation, publics)
        keys, addrs = roster.online_but(sender)
        if len(addrs) < len(publics):
            at = roster.keys.index(sender)  # sliced out, as online_but does
            publics = publics[:at] + publics[at + 1 :]
        self._audience = (roster.generation, sender, (keys, addrs, publics))
        return keys, addrs, publics

    def again(self, record: Record, push: Push, now: float) -> None:
        """Push `push`'s message to `record`'s peer again from its first try, in its place
        in the order (should the peer be gone, its mailbox gets it there)."""
        target = [(name_key(record.name), record.addr)]
        self.pushes.add(push.message, push.purpose, target, now, push.seq)

    def due(self, now: float, emit: Emit) -> list[Push]:
        """Send again what is due, and the next datagrams of those answered or given up;
        the pushes given up."""
        sends, failed = self.pushes.due(now)
        self._send([((addr,), unit) for addr, unit in sends], emit)
        return failed

    def flush(self, emit: Emit) -> None:
        """Send the datagrams of pushes made since the last call: where an event ends."""
        if sent := self.pushes.sent():
            self._send(sent, emit)

    def _send(self, sends: Sequence[tuple[Sequence[Addr], Unit]], emit: Emit) -> None:
        """Each unit of `sends` as its Pushed to its addresses, in order. Members sent the
        same unit one after another (a burst's, in step) are sent one Pushed (SendMany:
        encoded once)."""
        audience = self._audience[2]
        out: list[tuple[list[Addr], Unit]] = []
        for addrs, unit in sends:
            if out and _same(out[-1][1], unit):
                out[-1][0].extend(addrs)
            else:
                out.append((list(addrs), unit))
        key_at = self._key_at
        for addrs, unit in out:
            items = tuple(f.message for f in unit.flights.values())
            pushed = Pushed(unit.uid, cast(tuple[Pushable, ...], items))
            if len(addrs) == 1:
                emit(Send(addrs[0], pushed, key_at(addrs[0])))
            elif tuple(addrs) == audience[1]:
                emit(SendMany(audience[1], pushed, audience[2]))
            else:
                emit(SendMany(tuple(addrs), pushed, tuple(map(key_at, addrs))))

    def drop_all(self, addr: Addr) -> list[Push]:
        """Forget every push to `addr`, oldest first: its peer will not ack them."""
        return sorted(self.pushes.drop_all(addr), key=lambda push: push.seq)

    def pending(self) -> int:
        """Pushes sent and unanswered, or queued behind those to the same peer."""
        return sum(self.pushes.counts())


def _same(one: Unit, other: Unit) -> bool:
    """Whether `one` and `other` go as the same Pushed (a shared unit's copies do)."""
    return one is other or (one.uid == other.uid and one.flights.keys() == other.flights.keys())
