"""The mailboxes: each message once, within its box's limits (quotas.py), handed over in
parts; and their owners, kept beside them, from which the table's rows are rebuilt.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from registry.core.actions import (
    Action,
    DropMail,
    Emit,
    KeepOwner,
    Log,
    MoveMail,
    SaveTable,
    StoreMail,
)
from registry.core.authority import Claim
from registry.core.quotas import (
    NO_ORIGIN,
    BoxIndex,
    Origin,
    Quotas,
    full_notice,
    refusal,
    share_notice,
)
from registry.core.requests import Request
from registry.core.services import Services
from registry.core.table import Owner, Record
from wire.codec import record_size
from wire.limits import MAX_ID, MAX_NAME
from wire.messages import NOTICE_KIND, MailTaken, MoreMail, StoredMessage
from wire.names import name_key
from wire.words import counted

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
    """The oldest messages of `box` that fit one part (at least one)."""
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
    `saved_by`, the key of a direct message's save."""

    id: str
    sender: str
    text: str
    kind: str
    origin: Origin = NO_ORIGIN
    saved_by: str = ""


#: The token of a name rebuilt from a mailbox that records no owner: a hash no token has.
NO_TOKEN = "sha256:none"
#: Names listed in the start's line about rows rebuilt from mailboxes.
_NAMES_SHOWN = 10


class PostOffice:
    """Every mailbox (`boxes`, by owner's name key), each of at most `limit` messages, no
    sender more than `quotas` allow; `owners`, what each box kept of its owner."""

    def __init__(
        self,
        services: Services,
        boxes: dict[str, list[StoredMessage]],
        owners: Mapping[str, Owner],
        limit: int,
        quotas: Quotas | None,
    ) -> None:
        """`boxes` (kept, not copied) and `owners` are those loaded from disk."""
        self._s = services
        self._owners: dict[str, Owner] = dict(owners)
        #: rows rebuilt for boxes the table lacked: said and saved at the start
        self.rebuilt: list[Action] = self._rebuild(boxes)
        #: the stored messages by owner's name key, oldest first (read only)
        self.boxes = boxes
        self.limit = limit
        self.quotas = quotas if quotas is not None else Quotas()
        self._mail_index: dict[str, BoxIndex] = {}
        # who sent each stored message, by box and (sender, id): what it counted against
        self._origins: dict[str, dict[tuple[str, str], tuple[Origin, bool]]] = {}
        for key, box in boxes.items():
            for message in box:
                self._counted(key, message, *self._origin_of(key, message))

    def store(self, owner: Record, deposit: Deposit, now: float, emit: Emit) -> str:
        """Keep `deposit` in `owner`'s box, its owner beside it: "" when kept, else why not."""
        msg_id, sender, text, kind = deposit.id, deposit.sender, deposit.text, deposit.kind
        wall = self._s.wall(now)
        key = name_key(owner.name)
        box = self.boxes.setdefault(key, [])
        index = self._index(key, box)
        if (sender, msg_id) in index.ids:
            self.keep_owner(owner, emit)
            return ""  # a copy of one already stored (say, re-sent after a registry restart)
        size = len(text.encode())
        if not index.has_room(size, kind, self.limit):
            if kind == "channel" and not index.noticed:
                self._notice(key, index, full_notice(stamp(wall)), wall, emit)
                line = f"mailbox of {owner.name} is full; its channel messages are no longer kept"
                emit(Log(line))
            return refusal(owner.name)
        # the box has room, but maybe not for this sender
        counted = (deposit.origin, not owner.knows(sender))
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
        index.add(stored, size)
        emit(StoreMail(key, stored))
        self._counted(key, stored, *counted)
        emit(Log(f"saved {kind} message from {sender} for {owner.name}"))
        self.keep_owner(owner, emit)
        return ""

    def keep_owner(self, record: Record, emit: Emit) -> None:
        """Keep beside `record`'s mailbox its Owner, if changed; none without a box."""
        box = name_key(record.name)
        if box not in self.boxes:
            self._owners.pop(box, None)
            return
        owner = Owner.of(record)
        if self._owners.get(box) != owner:
            self._owners[box] = owner
            emit(KeepOwner(box, owner))

    def origin(self, sender: str) -> Origin:
        """Whom a message of `sender` stored now, not sent just now, counts against."""
        record = self._s.aliases.lookup(sender) if sender else None
        return NO_ORIGIN if record is None else (record.key, record.ip)

    def part(self, owner: Record) -> tuple[StoredMessage, ...]:
        """The next part of `owner`'s mailbox to hand over (empty: none)."""
        return first_part(self.boxes.get(name_key(owner.name), ()))

    @property
    def indexed(self) -> int:
        """How many boxes have an index now: at most those holding mail."""
        return len(self._mail_index)

    def taken(self, msg: MailTaken, req: Request, now: float, emit: Emit) -> None:
        """The owner's peer has shown `msg.ids`: they are deleted, and the next part
        follows (MoreMail), or Ack."""
        claim = Claim(msg.name, msg.token, "mail hand-over", fresh=True)
        owner = self._s.authority.authorised(req, claim, emit)
        if owner is None:
            return
        key = name_key(owner.name)
        box = self.boxes.get(key, [])
        taken = set(msg.ids)
        gone = tuple(m.id for m in box if m.id in taken)
        for message in box:
            if message.id in taken:
                self._uncounted(key, message)
        if gone:
            self._replace(key, [m for m in box if m.id not in taken])
            emit(DropMail(key, gone))
            emit(Log(f"handed over {len(gone)} message(s) to {owner.name}"))
        self.keep_owner(owner, emit)  # (forgotten with the box, once all is taken)
        rest = self.part(owner)
        if rest:
            self._s.answers.reply(req, emit, MoreMail, rest)
        else:
            self._s.answers.ack(req, emit)

    def moved(self, old_key: str, record: Record, emit: Emit) -> None:
        """`record` was renamed from the name keyed `old_key`: its box follows it, after
        the messages there."""
        new_key = name_key(record.name)
        box = self.boxes.pop(old_key, None)
        self._mail_index.pop(old_key, None)
        self.quotas.move(old_key, new_key)
        origins = self._origins.pop(old_key, {})
        if origins:
            self._origins.setdefault(new_key, {}).update(origins)
        if box is not None:
            self._replace(new_key, self.boxes.get(new_key, []) + box)
            emit(MoveMail(old_key, new_key))
        self._owners.pop(old_key, None)
        self.keep_owner(record, emit)

    def dropped(self, key: str, emit: Emit) -> int:
        """The name keyed `key` was released: its box and owner go; how many it held."""
        box = self.boxes.pop(key, [])
        self._mail_index.pop(key, None)
        for message in box:
            self._uncounted(key, message)
        self._origins.pop(key, None)
        self._owners.pop(key, None)
        if box:
            emit(DropMail(key, tuple(m.id for m in box)))
        return len(box)

    def _notice(self, key: str, index: BoxIndex, text: str, wall: float, emit: Emit) -> None:
        """Leave `text` in box `key` as its one notice that channel messages were not kept."""
        kept = StoredMessage(self._s.answers.new_id(), "", text, stamp(wall), NOTICE_KIND)
        index.add(kept, len(text.encode()))
        emit(StoreMail(key, kept))

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

    def _index(self, key: str, box: list[StoredMessage]) -> BoxIndex:
        """The index of mailbox `key`, rebuilt when the box was replaced."""
        index = self._mail_index.get(key)
        if index is None or index.box is not box:
            index = self._mail_index[key] = BoxIndex.of(box)
        return index

    def _origin_of(self, box: str, message: StoredMessage) -> tuple[Origin, bool]:
        """Who sent `message`, loaded in box `box`, and whether a stranger to its owner."""
        record = self._s.table.get(message.sender) if message.sender else None
        if record is None:
            return NO_ORIGIN, False
        owner = self._s.table.records.get(box)
        return (record.key, record.ip), owner is None or not owner.knows(message.sender)

    def _rebuild(self, boxes: dict[str, list[StoredMessage]]) -> list[Action]:
        """Put back the table's rows of the boxes it has none for; what to say of it."""
        rebuilt, unclaimed = rebuild(self._s.table.records, set(boxes), self._owners)
        said: list[Action] = []
        if rebuilt:
            line = (
                f"the table had no row for {counted(len(rebuilt), 'name')} with a mailbox "
                f"({_listed(rebuilt)}): rebuilt "
                "from their mailboxes, offline, each kept for its owner's key"
            )
            said.append(Log(line))
        if unclaimed:
            line = (
                f"the table had no row for {counted(len(unclaimed), 'name')} whose mailbox "
                f"records no owner ({_listed(unclaimed)}): nobody can take them; the "
                "console's release gives one away, with its mail"
            )
            said.append(Log(line))
        if said:
            said.append(SaveTable())
        return said


def _listed(names: list[str]) -> str:
    """The first few of `names`, and an ellipsis if there are more."""
    shown = ", ".join(names[:_NAMES_SHOWN])
    return shown + (", ..." if len(names) > _NAMES_SHOWN else "")


def rebuild(
    records: dict[str, Record], boxes: set[str], owners: dict[str, Owner]
) -> tuple[list[str], list[str]]:
    """Put in `records` a row for every box that has none: its owner's, else one nobody can
    take (only the console releases it). The names rebuilt, and those kept for nobody."""
    rebuilt, kept = [], []
    for box in sorted(boxes - records.keys()):
        owner = owners.get(box)
        if owner is not None and name_key(owner.name) == box:
            records[box] = owner.record()
            rebuilt.append(owner.name)
        else:
            records[box] = Record(box, "127.0.0.1", 1, False, NO_TOKEN)
            kept.append(box)
    return rebuilt, kept
