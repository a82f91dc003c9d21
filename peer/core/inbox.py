"""What came to this peer: each shown once, in the order sent, every copy acked
(docs/PROTOCOL.md). A datagram is taken as one: one Shown first, then its lines, one Ack or Acks.

The acks owed the registry, an AcksLater, wait a few ms and leave merged, as QUIC's
max_ack_delay (RFC 9000, 13.2.1), before any request after them (net/outgoing.py).
Acks to peers go at once: their sender waits on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from peer.core.actions import AcksLater, Action, Emit, Held, Print, SendSealed, Shown
from peer.core.lifecycle import Lifecycle
from wire.base import IdMaker
from wire.messages import Ack, Acks, ChannelMessage, Chat, RoomMessage, StoredMessage
from wire.names import name_key
from wire.reliable import ATTEMPTS, TIMEOUT, Alarm

#: Message ids remembered for showing each message once: the last SEEN_IDS at least, twice
#: as many at most (the older half forgotten at once).
SEEN_IDS = 50_000
#: Seconds a line waits for its `after` at most: its copies' tries, and again by the registry.
HOLD = 2 * ATTEMPTS * TIMEOUT
#: Lines that wait at once at most (`tick`): memory stays bounded whatever senders name.
HELD_MAX = 1000
#: What a sender says: shown after its line `after` (`Inbox.show`).
Line = Chat | ChannelMessage | RoomMessage


class Inbox:
    """The (sender, id) pairs shown, the last `limit` at least, senders ignoring case, and
    the lines held; for the datagram being taken in, the acks owed and the pairs shown first."""

    def __init__(
        self,
        life: Lifecycle,
        new_id: IdMaker,
        shown: Iterable[tuple[str, str] | Held] = (),
        limit: int = SEEN_IDS,
        alarm: Alarm | None = None,
    ) -> None:
        """`shown`: pairs shown, lines held, in earlier runs, oldest first; `alarm`: at HOLDs."""
        self._life = life
        self._new_id = new_id
        self._alarm = alarm or Alarm()
        # by (sender, id), as they came: the pair each line held waits for, its HOLD, the line
        self._held: dict[tuple[str, str], tuple[tuple[str, str], float, Print]] = {}
        # by the pair they wait for, the lines held for it, as they came (some shown since)
        self._waiting: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._limit = limit
        self._seen: dict[tuple[str, str], None] = {}  # in the order shown
        for item in shown:
            if isinstance(item, Held):
                key, first = item.key, (item.key[0], item.after)
                self._held[key] = (first, 0.0, item.line)
                self._waiting.setdefault(first, []).append(key)
            else:
                key = (name_key(item[0]), item[1])
                self._held.pop(key, None)
            self._seen[key] = None
        # the ids of the copies in the datagram being taken in, each owed an ack (`taken`)
        self._owed: list[str] = []
        # the pairs the datagram being taken in showed first, to be kept (`taken`)
        self._new: list[tuple[str, str]] = []

    def accept(self, sender: str, msg_id: str, *, kept: bool = True) -> tuple[str, str] | None:
        """The key of `msg_id` from `sender`, of the datagram being taken in, if shown first
        (in its Shown, unless not `kept`), else None. Every copy is acked, unless this peer
        is deregistered: it takes nothing then (senders fall back to the mailbox)."""
        if not self._life.registered:
            return None
        self._owed.append(msg_id)
        key: Any = (name_key(sender), msg_id)  # (hot path: Any, kept boxed)
        seen, count = self._seen, len(self._seen)
        seen.setdefault(key)  # (one lookup, not two: a pair seen stays put)
        if len(seen) == count:
            return None
        if len(seen) >= 2 * self._limit:
            self._seen = dict.fromkeys(list(seen)[self._limit :])
        if kept:
            self._new.append(key)
        return cast("tuple[str, str] | None", key)  # (as it is: not made again)

    def show(
        self, line: Line | StoredMessage, key: tuple[str, str], shown: Print, now: float, emit: Emit
    ) -> bool:
        """Show `line`, `key` as `accept` gave it, as `shown` after its sender's line `after`
        (HOLD at most, a Held emitted), then the lines that waited for it. False: held."""
        after, held = line.after, self._held  # (mostly none held: `first` looked up once)
        if after and ((first := (key[0], after)) not in self._seen or (held and first in held)):
            self._new = list(filter(key.__ne__, self._new))  # recorded as held instead
            self._held[key] = (first, now + HOLD, shown)  # until `first` is shown
            self._waiting.setdefault(first, []).append(key)
            self._alarm.lower(now + HOLD)
            emit(Held(key, first[1], shown))
            self.tick(now, emit)  # (one past HELD_MAX)
            return False
        emit(shown)
        if held:
            self._release(key, emit)
        return True

    def _release(self, key: tuple[str, str], emit: Emit) -> None:
        """Show `key`'s line if held, then each that waited for it, and its own, depth first."""
        waiting = [key]
        while waiting:
            first = waiting.pop()
            if first in self._held:
                emit(Shown((first,)))
                emit(self._held.pop(first)[2])
            waiting += reversed(self._waiting.pop(first, ()))

    def mailed(
        self, message: StoredMessage, shown: Print, now: float, records: Emit, emit: Emit
    ) -> None:
        """`show` of `message`, from the mailbox and never taken (`unseen`); its Shown, unless
        held, goes to `records` (kept once the line is on the screen)."""
        key = (name_key(message.sender), message.id)
        self._remember(key)
        if self.show(message, key, shown, now, emit):
            records(Shown((key,)))

    def unseen(self, sender: str, msg_id: str) -> bool:
        return (name_key(sender), msg_id) not in self._seen

    def start(self, now: float) -> None:
        """The peer starts at `now`: the lines an earlier run held wait HOLD from now."""
        for key, (first, _, line) in self._held.items():
            self._held[key] = (first, now + HOLD, line)
            self._alarm.lower(now + HOLD)

    def tick(self, now: float, emit: Emit) -> None:
        """Show the lines held HOLD seconds, or longest past HELD_MAX, then their waiting."""
        while (due := self.next_wake()) is not None and (due <= now or len(self._held) > HELD_MAX):
            first, steps = next(iter(self._held.values()))[0], len(self._held)
            while first in self._held and steps:  # held itself: from the first (a loop ends)
                first, steps = self._held[first][0], steps - 1
            self._release(first, emit)

    def next_wake(self) -> float | None:  # the oldest line held's HOLD
        return next(iter(self._held.values()))[1] if self._held else None

    def owe(self, msg_id: str) -> None:
        """Ack `msg_id`, of the datagram being taken in, with the rest, whatever it says."""
        self._owed.append(msg_id)

    def handed_over(self, sender: str, msg_id: str, emit: Emit) -> bool:
        """Whether `msg_id` from `sender`, handed over in an answer (the mailbox, our own
        room line), is shown for the first time: then a Shown at once. Not acked here."""
        key = (name_key(sender), msg_id)
        if key in self._seen:
            return False
        self._remember(key)
        emit(Shown((key,)))
        return True

    def _remember(self, key: tuple[str, str]) -> None:
        """`key` is taken: remembered among the last `limit` at least."""
        seen = self._seen
        seen[key] = None
        if len(seen) >= 2 * self._limit:
            self._seen = dict.fromkeys(list(seen)[self._limit :])

    def taken(
        self, addr: Any, key: bytes, from_registry: bool, later: list[Action], emit: Emit
    ) -> None:
        """The datagram from `addr` (an Addr; hot path: Any, kept boxed), sealed by `key`,
        is taken in; `later` is what its messages decided. Emitted:
        one Shown first (a killed peer never shows a message twice), then `later` and the
        acks, a peer's lines after its acks, the registry's as an AcksLater."""
        if self._new:
            emit(Shown(tuple(self._new)))
            self._new = []
        owed, self._owed = self._owed, []
        if from_registry:
            for action in later:
                emit(action)
            if owed:
                emit(AcksLater(addr, key, owed))
            return
        for action in later:
            if type(action) is not Print:
                emit(action)
        if owed:
            ack = Ack(self._new_id(), owed[0]) if len(owed) == 1 else Acks(self._new_id(), (*owed,))
            emit(SendSealed(addr, ack, key))
        for action in later:
            if type(action) is Print:
                emit(action)
