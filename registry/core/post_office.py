"""The mailboxes, handed over in parts; and their owners, kept beside them, from which
the table's lost rows are rebuilt."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

from registry.core.actions import (
    DropMail,
    Emit,
    KeepOwner,
    Log,
    MoveMail,
    Owner,
    SaveTable,
    StoreMail,
)
from registry.core.authority import Claim
from registry.core.quotas import (
    NO_ORIGIN,
    Origin,
    Quotas,
    Sender,
    Tally,
    full_notice,
    refusal,
    share_notice,
)
from registry.core.requests import Request
from registry.core.services import Services, stamp
from registry.core.table import Record, owner_of, owner_record
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


#: Seconds before its save a message's own `typed` time may be: a later save keeps the time
#: it was saved, as one typed after it (a clock set wrong either way).
TYPED_BEFORE_SAVE = 7 * 24 * 3600.0


def first_part(box: Sequence[StoredMessage]) -> tuple[StoredMessage, ...]:
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
        boxes: dict[str, list[StoredMessage]] | None,
        owners: Mapping[str, Owner] | None,
        limit: int,
    ) -> None:
        """`boxes` (kept, not copied) and `owners` were loaded (None: none)."""
        self._s, self._owners = services, dict(owners or {})
        boxes = boxes if boxes is not None else {}
        #: the names of the rows rebuilt for boxes the table lacked: (of an owner kept, of none)
        self.rebuilt = self._rebuild(boxes)
        #: the stored messages by owner's name key, oldest first (read only)
        self.boxes, self.limit, self.quotas = boxes, limit, Quotas()
        self._tallies: dict[str, Tally] = {}
        for key, box in boxes.items():
            tally = self._tallies[key] = Tally()
            owner = self._s.table.get(key)
            for message in box:
                record = self._s.table.get(message.sender) if message.sender else None
                stranger = owner is None or not owner.knows(message.sender)
                sender = None if record is None else ((record.key, record.ip), stranger)
                self.quotas.count(tally, message, sender)

    def store(  # noqa: PLR0913 (the message, where, when; and its sender's own time)
        self,
        owner: Record,
        message: StoredMessage,
        origin: Origin,
        now: float,
        emit: Emit,
        typed: int = 0,
        ticket: str = "",
    ) -> str:
        """Keep `message`, stamped when `typed`, in `owner`'s box; it counts against `origin`,
        as a stranger's unless the owner wrote to its sender or handed the key that saved it
        `ticket`: "" when kept, else why not."""
        key, sender, kind = name_key(owner.name), message.sender, message.kind
        tally = self._tallies.get(key) or Tally()
        if (sender, message.id) in tally.senders:
            self.keep_owner(owner, emit)
            return ""  # a copy of one already stored (say, re-sent after a registry restart)
        # said when typed, if known (not 0) and not after its save nor long before it
        wall, size = self._s.wall(now), len(message.text.encode())
        said = stamp(typed if wall - TYPED_BEFORE_SAVE <= typed <= wall else wall)
        counted = (origin, not owner.knows(sender, message.saved_by, ticket))
        if not tally.has_room(size, kind, self.limit):
            reason, notice = refusal(owner.name), full_notice
            why = "the box is full"
        else:  # the box has room, but maybe not for this sender
            reason = self.quotas.refusal(tally, owner.name, counted, size, self.limit)
            notice, why = functools.partial(share_notice, sender), f"{sender} is over its share"
        if reason:
            if kind == "channel" and not tally.noticed:
                # nobody is answered for a channel message not kept: the owner is told
                kept = StoredMessage(self._s.answers.new_id(), "", notice(said), said, NOTICE_KIND)
                self._add(key, tally, kept, None, emit)
                emit(Log(f"channel messages for {owner.name} are no longer kept: {why}"))
            return reason
        self._add(key, tally, message._replace(stamp=said), counted, emit)
        if kind != "channel":  # a post's saves: one line, not one per mailbox (Posts.channel)
            emit(Log(f"saved {kind} message from {sender} for {owner.name}"))
        self.keep_owner(owner, emit)
        return ""

    def keep_owner(self, record: Record, emit: Emit) -> None:
        """Keep beside `record`'s mailbox its Owner, if changed; none without a box."""
        box = name_key(record.name)
        if box not in self.boxes:
            self._owners.pop(box, None)
            return
        owner = owner_of(record)
        if self._owners.get(box) != owner:
            self._owners[box] = owner
            emit(KeepOwner(box, owner))

    def origin(self, sender: str) -> Origin:
        record = self._s.names.lookup(sender) if sender else None
        return NO_ORIGIN if record is None else (record.key, record.ip)

    def part(self, owner: Record) -> tuple[StoredMessage, ...]:
        return first_part(self.boxes.get(name_key(owner.name), ()))

    def taken(self, msg: MailTaken, req: Request, now: float, emit: Emit) -> None:
        claim = Claim(msg.name, msg.token, "mail hand-over", fresh=True)
        owner = self._s.names.authorised(req, claim, emit)
        if owner is None:
            return
        key = name_key(owner.name)
        taken = set(msg.ids)
        if gone := [m for m in self.boxes.get(key, []) if m.id in taken]:
            self._remove(key, gone, emit)
            emit(Log(f"handed over {len(gone)} message(s) to {owner.name}"))
        self.keep_owner(owner, emit)  # (forgotten with the box, once all is taken)
        if rest := self.part(owner):
            self._s.answers.reply(req, emit, MoreMail, rest)
        else:
            self._s.answers.ack(req, emit)

    def moved(self, old_key: str, record: Record, emit: Emit) -> None:
        """`record` was renamed from `old_key`: its box follows it, after those there."""
        new_key = name_key(record.name)
        box, tally = self.boxes.pop(old_key, None), self._tallies.pop(old_key, None)
        if box is not None and tally is not None:
            self._tallies.setdefault(new_key, Tally()).merge(tally)
            self.boxes[new_key] = self.boxes.get(new_key, []) + box
            emit(MoveMail(old_key, new_key))
        self._owners.pop(old_key, None)
        self.keep_owner(record, emit)

    def dropped(self, key: str, emit: Emit) -> int:
        """The name keyed `key` was released: its box and owner go; how many it held."""
        box = self.boxes.get(key, [])
        self._owners.pop(key, None)
        if box:
            self._remove(key, box, emit)
        return len(box)

    def _add(
        self, key: str, tally: Tally, message: StoredMessage, sender: Sender | None, emit: Emit
    ) -> None:
        self._tallies[key] = tally
        self.boxes.setdefault(key, []).append(message)
        self.quotas.count(tally, message, sender)
        emit(StoreMail(key, message))

    def _remove(self, key: str, gone: list[StoredMessage], emit: Emit) -> None:
        emit(DropMail(key, tuple(m.id for m in gone)))
        tally = self._tallies[key]
        for message in gone:
            self.quotas.uncount(tally, message)
        ids = {m.id for m in gone}
        if rest := [m for m in self.boxes[key] if m.id not in ids]:
            self.boxes[key] = rest
        else:
            del self.boxes[key], self._tallies[key]

    def start(self, emit: Emit) -> None:
        rebuilt, unclaimed = self.rebuilt
        if rebuilt:
            line = (
                f"the table had no row for {counted(len(rebuilt), 'name')} with a mailbox "
                f"({_listed(rebuilt)}): rebuilt "
                "from their mailboxes, offline, each kept for its owner's key"
            )
            emit(Log(line))
        if unclaimed:
            line = (
                f"the table had no row for {counted(len(unclaimed), 'name')} whose mailbox "
                f"records no owner ({_listed(unclaimed)}): nobody can take them; the "
                "console's release gives one away, with its mail"
            )
            emit(Log(line))
        if rebuilt or unclaimed:
            emit(SaveTable())
        self.rebuilt = ([], [])

    def _rebuild(self, boxes: dict[str, list[StoredMessage]]) -> tuple[list[str], list[str]]:
        """Put in the table a row for every box that has none: its owner's, else nobody's."""
        records, rebuilt, unclaimed = self._s.table.records, [], []
        for box in sorted(boxes.keys() - records.keys()):
            owner = self._owners.get(box)
            if owner is not None and name_key(owner.name) == box:
                records[box] = owner_record(owner)
                rebuilt.append(owner.name)
            else:
                records[box] = Record(box, "127.0.0.1", 1, False, NO_TOKEN)
                unclaimed.append(box)
        return rebuilt, unclaimed


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:_NAMES_SHOWN])
    return shown + (", ..." if len(names) > _NAMES_SHOWN else "")
