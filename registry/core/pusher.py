"""Pushing messages to peers until they ack them: numbered in the order made (a channel
message given up reaches a mailbox in the order sent), as actions. Pure."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

from registry.core.actions import Addr, Emit, Send, SendMany
from registry.core.push_records import Push
from registry.core.pushes import Pushes, Sends
from registry.core.requests import send_to
from registry.core.table import Record
from wire.codec import travels_by_stream
from wire.messages import Message
from wire.names import name_key

#: The online peers a channel line goes to: their name keys, addresses and public keys, in
#: one order; and whether no two share an address.
Audience = tuple[tuple[str, ...], tuple[Addr, ...], tuple[bytes, ...], bool]


class Pusher:
    """Every push awaiting an ack: retried every `timeout` seconds, `attempts` times."""

    def __init__(self, timeout: float, attempts: int, key_at: Callable[[Addr], bytes]) -> None:
        self._key_at = key_at
        self.pushes = Pushes(timeout, attempts, streamed=travels_by_stream)
        self.retry_span = timeout * attempts  #: seconds from a push's first copy to its give-up
        self._seq = itertools.count()

    def push(
        self, records: Iterable[Record], message: Message, purpose: str, now: float, emit: Emit
    ) -> None:
        """Push `message` to the peer of each of `records`."""
        targets = [(name_key(r.name), r.addr) for r in records]
        addrs = self.pushes.add(message, purpose, targets, now, next(self._seq))
        if addrs:
            emit(send_to(addrs, message, self._key_at))

    def relay(self, message: Message, audience: Audience, now: float, emit: Emit) -> int:
        """Push the channel `message` to every peer of `audience`: to how many."""
        keys, addrs, publics, distinct = audience
        seq = next(self._seq)
        if distinct:
            sent = self.pushes.add_many(message, "relay", (keys, addrs), now, seq)
        else:
            sent = self.pushes.add(message, "relay", zip(keys, addrs, strict=True), now, seq)
        if len(sent) == len(addrs) and len(addrs) > 1:
            emit(SendMany(addrs, message, publics))
        elif sent:
            emit(send_to(sent, message, self._key_at))
        return len(addrs)

    def again(self, record: Record, push: Push, now: float, emit: Emit) -> None:
        """Push `push`'s message to `record`'s peer again from its first try, in its place
        in the order (should the peer be gone, its mailbox gets it there)."""
        target = [(name_key(record.name), record.addr)]
        addrs = self.pushes.add(push.message, push.purpose, target, now, push.seq)
        if addrs:
            emit(send_to(addrs, push.message, self._key_at))

    def due(self, now: float, emit: Emit) -> list[Push]:
        """Send again what is due, and the next datagrams of those answered or given up;
        the pushes given up. Members sent the same messages (a burst's, in step) are sent
        each message once (SendMany: encoded once for all of them)."""
        sends, failed = self.pushes.due(now)
        key_at = self._key_at
        for addrs, messages in _in_step(sends):
            if len(addrs) == 1:
                key = key_at(addrs[0])
                for message in messages:
                    emit(Send(addrs[0], message, key))
                continue
            many, keys = tuple(addrs), tuple(map(key_at, addrs))
            for message in messages:
                emit(SendMany(many, message, keys))
        return failed

    def drop_all(self, addr: Addr) -> list[Push]:
        """Forget every push to `addr`, oldest first."""
        return sorted(self.pushes.drop_all(addr), key=lambda push: push.seq)

    def pending(self) -> int:
        return sum(self.pushes.counts())


def _in_step(sends: Sends) -> list[tuple[list[Addr], list[Message]]]:
    """`sends` as one entry for the addresses sent the same flights, in order."""
    out: list[tuple[list[Addr], list[Message]]] = []
    entries: dict[tuple[int, ...], tuple[list[Addr], list[Message]]] = {}
    seen: set[Addr] = set()
    for addr, flights in sends:
        entry = entries.get(same := tuple(map(id, flights)))
        if entry is None or addr in seen:
            entries[same] = entry = ([], [f.message for f in flights])
            out.append(entry)
        entry[0].append(addr)
        seen.add(addr)
    return out
