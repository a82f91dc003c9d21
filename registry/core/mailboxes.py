"""The registry's mailboxes in memory: each message once, within its box's limits
(registry/core/quotas.py), and the parts a box is handed over in. Storing emits StoreMail
for the adapter to make durable.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from registry.core.actions import DropMail, Emit, Log, MoveMail, StoreMail
from registry.core.quotas import (
    NO_ORIGIN,
    BoxIndex,
    Origin,
    Quotas,
    full_notice,
    refusal,
    share_notice,
)
from registry.core.table import Record
from wire.codec import record_size
from wire.limits import MAX_ID, MAX_NAME
from wire.messages import NOTICE_KIND, StoredMessage
from wire.names import name_key

#: Bytes of stored messages one Welcome or MoreMail carries at most, each part acked before
#: the next: far below MAX_FRAME even beside a table of MAX_ITEMS rows.
MAIL_PART = 1024 * 1024
#: Stored messages one part carries at most: below the codec's MAX_ITEMS per list.
MAIL_PART_ITEMS = 5000
#: Bytes a stored message's fields but its text can take in JSON, at most (the key that
#: saved it is 43 characters of base64: wire.keys.key_text).
_RECORD_ROOM = 6 * MAX_ID + 6 * MAX_NAME + 43 + 100


def stamp(now: float) -> str:
    """The local time `now` as shown next to stored messages."""
    return _stamp(math.floor(now))


@functools.lru_cache(maxsize=4)
def _stamp(second: int) -> str:
    # once a second: a registry saving thousands of messages a second stamps them alike
    return datetime.fromtimestamp(second).strftime("%Y-%m-%d %H:%M:%S")


def first_part(box: Sequence[StoredMessage]) -> tuple[StoredMessage, ...]:
    """The oldest messages of `box` that together fit MAIL_PART and MAIL_PART_ITEMS (at
    least one)."""
    # a small box needs no record measured: a character takes at most 6 bytes in JSON
    if (
        len(box) <= MAIL_PART_ITEMS
        and sum(6 * len(m.text) + _RECORD_ROOM for m in box) <= MAIL_PART
    ):
        return tuple(box)
    size = 0
    for count, message in enumerate(box[:MAIL_PART_ITEMS]):
        size += record_size(message) + 1  # the comma between records
        if size > MAIL_PART and count:
            return tuple(box[:count])
    return tuple(box[:MAIL_PART_ITEMS])


@dataclasses.dataclass(frozen=True, slots=True)
class Deposit:
    """A message to keep: `kind` "direct" or "channel"; `origin`, whom it counts against;
    `saved_by`, the key of a direct message's save; `known`, its sender is one the box's
    owner wrote to."""

    id: str
    sender: str
    text: str
    kind: str
    origin: Origin = NO_ORIGIN
    saved_by: str = ""
    known: bool = False


class Mailboxes:
    """Every mailbox, by its owner's name key, each of at most `limit` messages; `new_id`
    makes the ids of the notices left in them."""

    def __init__(
        self,
        boxes: dict[str, list[StoredMessage]],
        limit: int,
        new_id: Callable[[], str],
        origin_of: Callable[[str, StoredMessage], tuple[Origin, bool]] = (
            lambda box, message: (NO_ORIGIN, False)
        ),
        quotas: Quotas | None = None,
    ) -> None:
        """`boxes` (kept, not copied) are those loaded from disk; `origin_of` says who sent
        each of their messages, and whether a stranger to the owner."""
        #: by owner's name key, oldest first; changed only through the methods
        self.boxes = boxes
        self._mail_index: dict[str, BoxIndex] = {}
        self.limit = limit
        self._new_id = new_id
        self.quotas = quotas if quotas is not None else Quotas()
        # who sent each stored message, by box and (sender, id): what it counted against
        self._origins: dict[str, dict[tuple[str, str], tuple[Origin, bool]]] = {}
        for key, box in boxes.items():
            for message in box:
                self._counted(key, message, *origin_of(key, message))

    def store(self, owner: Record, deposit: Deposit, wall: float, emit: Emit) -> str:
        """Keep `deposit` in `owner`'s box, stamped with the time of day `wall`: "" when it
        is kept (or was already), else why not, for its sender."""
        msg_id, sender, text, kind = deposit.id, deposit.sender, deposit.text, deposit.kind
        key = name_key(owner.name)
        box = self.boxes.setdefault(key, [])
        index = self._index(key, box)
        if (sender, msg_id) in index.ids:
            return ""  # a copy of one already stored (say, re-sent after a registry restart)
        size = len(text.encode())
        if not index.has_room(size, kind, self.limit):
            if kind == "channel" and not index.noticed:
                self._notice(key, index, full_notice(stamp(wall)), wall, emit)
                line = f"mailbox of {owner.name} is full; its channel messages are no longer kept"
                emit(Log(line))
            return refusal(owner.name)
        # the box has room, but maybe not for this sender
        stranger = not deposit.known
        counted = (deposit.origin, stranger)
        beyond = self.quotas.refusal(key, owner.name, counted, size, self.limit)
        if beyond:
            if kind == "channel" and not index.noticed:
                # nobody is answered for a channel message not kept: the owner is told
                self._notice(key, index, share_notice(sender, stamp(wall)), wall, emit)
                emit(Log(f"{sender}'s channel messages for {owner.name} are over its share"))
            elif not box:  # made just now by setdefault: no empty box is kept
                del self.boxes[key]
                self._mail_index.pop(key, None)
            return beyond
        stored = StoredMessage(msg_id, sender, text, stamp(wall), kind, deposit.saved_by)
        self._keep(key, index, stored, size, emit)
        self._counted(key, stored, deposit.origin, stranger)
        emit(Log(f"saved {kind} message from {sender} for {owner.name}"))
        return ""

    def _notice(self, key: str, index: BoxIndex, text: str, wall: float, emit: Emit) -> None:
        """Leave `text` in box `key` as its one notice that channel messages were not kept."""
        kept = StoredMessage(self._new_id(), "", text, stamp(wall), NOTICE_KIND)
        self._keep(key, index, kept, len(text.encode()), emit)

    @property
    def indexed(self) -> int:
        """How many boxes have an index now: at most those holding mail."""
        return len(self._mail_index)

    def part(self, owner: Record) -> tuple[StoredMessage, ...]:
        """The next part of `owner`'s mailbox to hand over (empty: none)."""
        return first_part(self.boxes.get(name_key(owner.name), ()))

    def taken(self, owner: Record, ids: Iterable[str], emit: Emit) -> None:
        """`owner`'s peer has shown the messages `ids` of its box: delete them."""
        key = name_key(owner.name)
        box = self.boxes.get(key, [])
        taken = set(ids)
        gone = tuple(m.id for m in box if m.id in taken)
        for message in box:
            if message.id in taken:
                self._uncounted(key, message)
        if gone:
            rest = [m for m in box if m.id not in taken]
            self._replace(key, rest)
            emit(DropMail(key, gone))
            emit(Log(f"handed over {len(gone)} message(s) to {owner.name}"))

    def move(self, old_key: str, new_key: str, emit: Emit) -> None:
        """A rename: box `old_key` follows to `new_key`, after the messages there."""
        box = self.boxes.pop(old_key, None)
        self._mail_index.pop(old_key, None)
        self.quotas.move(old_key, new_key)
        origins = self._origins.pop(old_key, {})
        if origins:
            self._origins.setdefault(new_key, {}).update(origins)
        if box is not None:
            self._replace(new_key, self.boxes.get(new_key, []) + box)
            emit(MoveMail(old_key, new_key))

    def drop(self, key: str, emit: Emit) -> int:
        """The name keyed `key` was released: forget its box. How many messages it held."""
        box = self.boxes.pop(key, [])
        self._mail_index.pop(key, None)
        for message in box:
            self._uncounted(key, message)
        self._origins.pop(key, None)
        if box:
            emit(DropMail(key, tuple(m.id for m in box)))
        return len(box)

    def _replace(self, key: str, box: list[StoredMessage]) -> None:
        """Mailbox `key` is `box` from now on, forgotten with its index when empty."""
        self._mail_index.pop(key, None)
        if box:
            self.boxes[key] = box
        else:
            self.boxes.pop(key, None)

    def _counted(self, key: str, message: StoredMessage, origin: Origin, stranger: bool) -> None:
        """`message`, from `origin`, is in mailbox `key`: it counts against its sender."""
        if origin != NO_ORIGIN:
            self._origins.setdefault(key, {})[(message.sender, message.id)] = (origin, stranger)
            self.quotas.add(key, origin, len(message.text.encode()), stranger)

    def _uncounted(self, key: str, message: StoredMessage) -> None:
        """`message` leaves mailbox `key`: it no longer counts against its sender."""
        origins = self._origins.get(key)
        counted = origins.pop((message.sender, message.id), None) if origins else None
        if counted is not None:
            self.quotas.remove(key, counted[0], len(message.text.encode()), counted[1])
        if origins is not None and not origins:
            del self._origins[key]

    def _keep(
        self,
        key: str,
        index: BoxIndex,
        stored: StoredMessage,
        size: int,
        emit: Emit,
    ) -> None:
        index.add(stored, size)
        emit(StoreMail(key, stored))

    def _index(self, key: str, box: list[StoredMessage]) -> BoxIndex:
        """The index of mailbox `key`, rebuilt when the box was replaced."""
        index = self._mail_index.get(key)
        if index is None or index.box is not box:
            index = self._mail_index[key] = BoxIndex.of(box)
        return index
