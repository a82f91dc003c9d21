"""The mailboxes, handed over in parts; and their owners, kept beside them, from which
the table's lost rows are rebuilt.

How much one mailbox holds, and how much of the mailboxes one sender may take: a key a
quarter of a box, an address half, all strangers (the owner never wrote to) half, and a
key's and an address's messages in all boxes are bounded. Channel messages stop a little
before a box is full; the first not kept leaves one notice in it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from msgspec import Struct, field

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
from registry.core.requests import NO_ORIGIN, Origin, Request
from registry.core.services import Services, stamp
from registry.core.table import Record, owner_of, owner_record
from wire.codec import record_size
from wire.limits import MAX_ID, MAX_NAME
from wire.messages import NOTICE_KIND, MailTaken, MoreMail, StoredMessage
from wire.names import name_key
from wire.words import counted

#: Messages one mailbox holds at most (`--mailbox-limit`).
MAILBOX_MESSAGES = 1000
#: UTF-8 bytes of text a mailbox holds per message of its limit.
BYTES_PER_MESSAGE = 2 * 1024
#: ...and at least this many, so that even a small box takes a few of the longest messages.
MIN_BYTES = 64 * 1024
#: Channel messages are kept only while the box is below this share of both limits.
CHANNEL_SHARE = 0.9


def byte_limit(limit: int) -> int:
    return max(limit * BYTES_PER_MESSAGE, MIN_BYTES)


#: A sender as a mailbox counts it: its origin, and whether a stranger to the box's owner.
Sender = tuple[Origin, bool]

#: The share of one mailbox (its messages, and its bytes) one key may fill...
SENDER_SHARE = 0.25
#: ...and all the keys at one address together.
ADDRESS_SHARE = 0.5
#: ...and all the strangers together: the rest is kept for the people the owner wrote to.
STRANGERS_SHARE = 0.5
#: The holder all strangers' messages in a box count against, together.
_STRANGERS = "strangers"
#: Bytes of text one key's messages waiting in all mailboxes take at most.
SENDER_BYTES = 4 * 1024 * 1024
#: ...and one address's.
ADDRESS_BYTES = 16 * 1024 * 1024


#: Messages, and bytes of text, one holder has in one mailbox.
Usage = tuple[int, int]


class BoxCount(Struct):
    """What one mailbox holds, as counted: each message's (sender, id) with whom it counts
    against (None: nobody), its bytes of text, whether it has the notice, and what each
    holder ("key <k>", "address <ip>", all strangers) has in it."""

    senders: dict[tuple[str, str], Sender | None] = field(default_factory=dict)
    size: int = 0
    noticed: bool = False
    holders: dict[str, Usage] = field(default_factory=dict)

    def has_room(self, size: int, kind: str, limit: int) -> bool:
        share = CHANNEL_SHARE if kind == "channel" else 1.0
        fits = len(self.senders) + 1 <= limit * share
        return fits and self.size + size <= byte_limit(limit) * share

    def merge(self, other: BoxCount) -> None:
        self.senders.update(other.senders)
        self.size += other.size
        self.noticed |= other.noticed
        for holder, (count, size) in other.holders.items():
            had_count, had_size = self.holders.get(holder, (0, 0))
            self.holders[holder] = (had_count + count, had_size + size)


class Quotas:
    """What each key and each address has stored in all mailboxes."""

    def __init__(self) -> None:
        self._totals: dict[str, int] = {}

    def refusal(self, tally: BoxCount, owner: str, sender: Sender, size: int, limit: int) -> str:
        """ "" when a message of `size` bytes from `sender` may go into `owner`'s mailbox
        (`tally`, of `limit` messages); else why not, for its sender."""
        (key, ip), stranger = sender
        usages = tally.holders
        if key and _over(usages.get(f"key {key}"), size, limit, SENDER_SHARE):
            return (
                f"You have {_part(SENDER_SHARE)} of {owner}'s mailbox, the most one "
                f"sender may fill; try again once {owner} has read your messages."
            )
        if ip and _over(usages.get(f"address {ip}"), size, limit, ADDRESS_SHARE):
            return (
                f"Senders at {ip} have {_part(ADDRESS_SHARE)} of {owner}'s mailbox, "
                f"the most one address may fill; try again once {owner} has read their "
                "messages."
            )
        if stranger and key and _over(usages.get(_STRANGERS), size, limit, STRANGERS_SHARE):
            return (
                f"Senders {owner} has not written to fill half of {owner}'s mailbox, the "
                f"most they may; the rest is kept for those {owner} writes to."
            )
        if key and self._totals.get(f"key {key}", 0) + size > SENDER_BYTES:
            return (
                f"Your messages waiting at the registry take {_mib(SENDER_BYTES)}, the "
                "most one sender may keep there; try again once they are read."
            )
        if ip and self._totals.get(f"address {ip}", 0) + size > ADDRESS_BYTES:
            return (
                f"Messages from {ip} waiting at the registry take "
                f"{_mib(ADDRESS_BYTES)}, the most one address may keep there; try "
                "again once they are read."
            )
        return ""

    def count(self, tally: BoxCount, message: StoredMessage, sender: Sender | None) -> None:
        tally.senders[(message.sender, message.id)] = sender
        self._count(tally, message, sender, 1)

    def uncount(self, tally: BoxCount, message: StoredMessage) -> None:
        self._count(tally, message, tally.senders.pop((message.sender, message.id), None), -1)

    def held(self, origin: Origin) -> int:
        key, ip = origin
        return self._totals.get(f"key {key}" if key else f"address {ip}", 0)

    def _count(
        self, tally: BoxCount, message: StoredMessage, sender: Sender | None, sign: int
    ) -> None:
        size = sign * len(message.text.encode())
        tally.size += size
        if message.kind == NOTICE_KIND:
            tally.noticed = sign > 0
        (key, ip), stranger = sender or (NO_ORIGIN, False)
        holders = [h for h, there in ((f"key {key}", key), (f"address {ip}", ip)) if there]
        for holder in holders + ([_STRANGERS] if stranger and key else []):
            count, had = tally.holders.get(holder, (0, 0))
            if count + sign > 0:
                tally.holders[holder] = (count + sign, had + size)
            else:  # a month of traffic leaves no trace of who sent once
                tally.holders.pop(holder, None)
            if holder == _STRANGERS:
                continue  # a share of this box only: no total in all boxes
            total = self._totals.get(holder, 0) + size
            if total > 0:
                self._totals[holder] = total
            else:
                self._totals.pop(holder, None)


def _over(usage: Usage | None, size: int, limit: int, share: float) -> bool:
    """Whether one more message takes `usage` past `share` of a box (one always fits)."""
    if usage is None:
        return False
    count, had = usage
    return count + 1 > max(1.0, limit * share) or had + size > byte_limit(limit) * share


def _part(share: float) -> str:
    return {0.25: "a quarter", 0.5: "half"}.get(share, f"{share:.0%}")


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"


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
        self._tallies: dict[str, BoxCount] = {}
        for key, box in boxes.items():
            tally = self._tallies[key] = BoxCount()
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
        tally = self._tallies.get(key) or BoxCount()
        if (sender, message.id) in tally.senders:
            self.keep_owner(owner, emit)
            return ""  # a copy of one already stored (say, re-sent after a registry restart)
        # said when typed, if known (not 0) and not after its save nor long before it
        wall, size = self._s.wall(now), len(message.text.encode())
        said = stamp(typed if wall - TYPED_BEFORE_SAVE <= typed <= wall else wall)
        counted = (origin, not owner.knows(sender, message.saved_by, ticket))
        full = not tally.has_room(size, kind, self.limit)
        if full:
            reason, why = f"{owner.name}'s mailbox is full.", "the box is full"
        else:  # the box has room, but maybe not for this sender
            reason = self.quotas.refusal(tally, owner.name, counted, size, self.limit)
            why = f"{sender} is over its share"
        if reason:
            if kind == "channel" and not tally.noticed:
                # nobody is answered for a channel message not kept: the owner is told
                text = (
                    f"Your mailbox filled up at {said}; channel messages sent after that were "
                    "not kept."
                    if full
                    else f"Channel messages from {sender} sent from {said} on were not kept: "
                    "they went over what one sender may leave in mailboxes."
                )
                kept = StoredMessage(self._s.answers.new_id(), "", text, said, NOTICE_KIND)
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

    def taken(self, msg: MailTaken, req: Request, owner: Record, now: float, emit: Emit) -> None:
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
            self._tallies.setdefault(new_key, BoxCount()).merge(tally)
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
        self, key: str, tally: BoxCount, message: StoredMessage, sender: Sender | None, emit: Emit
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
