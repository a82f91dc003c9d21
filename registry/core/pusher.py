"""Pushing messages to peers until they ack them, in the order they were made.

Pure: the caller supplies `now`. The queues per peer are registry/core/pushes.py's; this
part numbers every push (a channel message among those given up reaches a mailbox in
the order it was sent) and turns what registry/core/pushes.py says into actions.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence

from registry.core.actions import Addr, Emit, Send, SendBatch
from registry.core.pushes import Batch, Entry, Push, Pushes
from registry.core.requests import send_to
from registry.core.table import Record
from registry.core.table_changes import Roster
from wire.messages import Message
from wire.names import name_key


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

    def push(self, record: Record, message: Message, purpose: str, now: float, emit: Emit) -> None:
        """Push `message` to `record`'s peer, for `purpose` (registry/core/pushes.py)."""
        self.push_all((record,), message, purpose, now, emit)

    def push_all(
        self,
        records: Iterable[Record],
        message: Message,
        purpose: str,
        now: float,
        emit: Emit,
    ) -> None:
        """Push `message` to the peer of each of `records`, and track the acks."""
        targets = [(name_key(r.name), r.addr) for r in records]
        addrs, batches = self.pushes.add(message, purpose, targets, now, next(self._seq))
        self._send(addrs, message, batches, emit)

    def relay(self, message: Message, roster: Roster, sender: str, now: float, emit: Emit) -> int:
        """Push the channel `message` to every online peer of `roster` but `sender` (a name
        key): to how many."""
        keys, addrs = roster.online_but(sender)
        seq = next(self._seq)
        if roster.distinct:
            sent = self.pushes.add_many(message, "relay", (keys, addrs), now, seq)
            self._send(sent, message, [], emit)
        else:
            targets = zip(keys, addrs, strict=True)
            sent, batches = self.pushes.add(message, "relay", targets, now, seq)
            self._send(sent, message, batches, emit)
        return len(addrs)

    def again(self, record: Record, push: Push, now: float, emit: Emit) -> None:
        """Push `push`'s message to `record`'s peer again from its first try, in its place
        in the order (should the peer be gone, its mailbox gets it there)."""
        target = [(name_key(record.name), record.addr)]
        addrs, batches = self.pushes.add(push.message, push.purpose, target, now, push.seq)
        self._send(addrs, push.message, batches, emit)

    def answer(self, replies: Sequence[str], addr: Addr, now: float, emit: Emit) -> list[Entry]:
        """`addr` acked (or refused) each of `replies`: the pushes answered, each a flight
        with its owner's name key; the next datagram of its queue is sent."""
        answered, batches = self.pushes.answer(replies, addr, now)
        self._send((), None, batches, emit)
        return answered

    def due(self, now: float, emit: Emit) -> list[Push]:
        """Send again what is due; the pushes given up, oldest first (their peers' queues
        go on at `resume`)."""
        again, failed = self.pushes.due(now)
        self._send((), None, again, emit)
        return failed

    def resume(self, now: float, emit: Emit) -> None:
        """The queues `due` gave up on go on, once what it gave up was acted on (what is
        pushed again in its place goes first)."""
        self._send((), None, self.pushes.resume(now), emit)

    def drop_all(self, addr: Addr) -> list[Push]:
        """Forget every push to `addr`, oldest first: its peer will not ack them."""
        return sorted(self.pushes.drop_all(addr), key=lambda push: push.seq)

    def pending(self) -> int:
        """Pushes sent and unanswered, or queued behind those to the same peer."""
        return self.pushes.in_flight() + self.pushes.queued()

    def _send(
        self, addrs: Sequence[Addr], message: Message | None, batches: list[Batch], emit: Emit
    ) -> None:
        """Send `message` to each of `addrs`, and each batch to its address together."""
        key_at = self._key_at
        if addrs and message is not None:
            emit(send_to(addrs, message, key_at))
        for addr, entries in batches:
            if len(entries) == 1:
                emit(Send(addr, entries[0][0].message, key_at(addr)))
            else:
                messages = tuple(flight.message for flight, _ in entries)
                datas = tuple(flight.data for flight, _ in entries)
                emit(SendBatch(addr, messages, key_at(addr), datas))
