"""The registry's mailboxes in memory: what is stored for whom, each message once and
within its box's limits, and the parts a box is handed over in.

Pure: no clock, no files. Storing returns StoreMail actions for the adapter to make
durable; the rules of one box's limits and its full notice are registry/core/mailbox.py's. When
a message is to be stored (a save for an offline peer, a channel message, a push that was
never acked) and what its sender is told are the core's decisions (registry/core/saving.py,
registry/core/relay.py; registry/core/post_office.py keeps each box's owner beside it).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from registry.core import mailbox
from registry.core.actions import DropMail, Emit, Log, MoveMail, StoreMail
from registry.core.quotas import NO_ORIGIN, Origin, Quotas
from registry.core.table import Record
from wire.codec import record_size
from wire.limits import MAX_ID, MAX_NAME
from wire.messages import NOTICE_KIND, StoredMessage
from wire.names import name_key

#: Bytes of stored messages one Welcome or MoreMail carries at most. A full mailbox
#: (registry/core/mailbox.py) outgrows any one message (its texts' JSON can take six bytes a
#: character), so it is handed over in parts of this size, each shown and acknowledged
#: before the next: far below MAX_FRAME even beside a table of MAX_ITEMS rows.
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
    least one: a single message is far smaller, its text being at most MAX_TEXT)."""
    # The usual small box needs no record measured: a character takes at most 6 bytes in
    # JSON (a control character, escaped), and all but the text of a record far less than
    # _RECORD_ROOM (an id of MAX_ID escaped characters, a name, the stamp, the kind).
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
    """A message to keep in a mailbox: its id and sender's name, its text, its `kind`
    ("direct", "channel"), its `origin` (whom it counts against: registry/core/quotas.py), for a
    direct message `saved_by`: the key whose SaveMessage brought it ("" unknown), and
    whether its sender is `known` to the box's owner (one it wrote to) or a stranger."""

    id: str
    sender: str
    text: str
    kind: str
    origin: Origin = NO_ORIGIN
    saved_by: str = ""
    known: bool = False


class Mailboxes:
    """Every mailbox, by its owner's name key, each holding at most `limit` messages
    (registry/core/mailbox.py), and no more from one sender than registry/core/quotas.py allows;
    `new_id` makes the ids of the full notices left in them."""

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
        """`boxes` are the mailboxes the adapter loaded from disk, kept (not copied);
        `origin_of` says who sent each of them, and whether a stranger to the box's owner
        (the files do not keep it: the post office answers from its table, the sender's
        name's key and address)."""
        #: the stored messages by owner's name key, oldest first; read it, change it only
        #: through the methods (a box is replaced whole, and indexed again, when messages
        #: leave it)
        self.boxes = boxes
        self._mail_index: dict[str, mailbox.BoxIndex] = {}
        self.limit = limit
        self._new_id = new_id
        self.quotas = quotas if quotas is not None else Quotas()
        # who sent each stored message, by box and (sender, id): what it counted against
        self._origins: dict[str, dict[tuple[str, str], tuple[Origin, bool]]] = {}
        for key, box in boxes.items():
            for message in box:
                self._counted(key, message, *origin_of(key, message))

    def store(self, owner: Record, deposit: Deposit, wall: float, emit: Emit) -> str:
        """Keep `deposit` in the mailbox of `owner`, stamped with the time of day `wall`
        (seconds since the epoch): "" when it is kept (or was already),
        else why not, for its sender (registry/core/quotas.py: its sender's share is full;
        registry/core/mailbox.py: the box is, and a channel message not kept leaves the full
        notice)."""
        msg_id, sender, text, kind = deposit.id, deposit.sender, deposit.text, deposit.kind
        key = name_key(owner.name)
        box = self.boxes.setdefault(key, [])
        index = self._index(key, box)
        if (sender, msg_id) in index.ids:
            return ""  # a copy of one already stored (say, re-sent after a registry restart)
        size = len(text.encode())
        if not index.has_room(size, kind, self.limit):
            if kind == "channel" and not index.noticed:
                self._notice(key, index, mailbox.full_notice(stamp(wall)), wall, emit)
                line = f"mailbox of {owner.name} is full; its channel messages are no longer kept"
                emit(Log(line))
            return mailbox.refusal(owner.name)
        # the box has room, but maybe not for this sender
        stranger = not deposit.known
        counted = (deposit.origin, stranger)
        beyond = self.quotas.refusal(key, owner.name, counted, size, self.limit)
        if beyond:
            if kind == "channel" and not index.noticed:
                # nobody is answered for a channel message not kept: the owner is told
                self._notice(key, index, mailbox.share_notice(sender, stamp(wall)), wall, emit)
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

    def _notice(
        self, key: str, index: mailbox.BoxIndex, text: str, wall: float, emit: Emit
    ) -> None:
        """Leave `text` in box `key` as the one notice that channel messages were not kept:
        it stays, and stops further notices, until the owner takes the mail."""
        kept = StoredMessage(self._new_id(), "", text, stamp(wall), NOTICE_KIND)
        self._keep(key, index, kept, len(text.encode()), emit)

    @property
    def indexed(self) -> int:
        """How many boxes have an index of their ids now: at most those holding mail (an
        index goes with its box), so a registry's memory follows its mail, not its past."""
        return len(self._mail_index)

    def part(self, owner: Record) -> tuple[StoredMessage, ...]:
        """The next part of `owner`'s mailbox to hand over, oldest first (see
        `first_part`); empty when the box is."""
        return first_part(self.boxes.get(name_key(owner.name), ()))

    def taken(self, owner: Record, ids: Iterable[str], emit: Emit) -> None:
        """`owner`'s peer has shown the messages `ids` of its box: delete them (the
        others, and ids the box does not hold, are left)."""
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
        """A name was renamed from name key `old_key` to `new_key`: its box follows it,
        after any messages already kept under the new key."""
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
        """Mailbox `key` is `box` from now on, and is forgotten when empty: a registry
        that runs for months keeps no trace of names whose mail was all handed over, nor
        their index (which held every id the box had)."""
        self._mail_index.pop(key, None)
        if box:
            self.boxes[key] = box
        else:
            self.boxes.pop(key, None)

    def _counted(self, key: str, message: StoredMessage, origin: Origin, stranger: bool) -> None:
        """`message`, from `origin` (a `stranger` to the owner or not), is in mailbox
        `key`: it counts against its sender."""
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
        index: mailbox.BoxIndex,
        stored: StoredMessage,
        size: int,
        emit: Emit,
    ) -> None:
        index.add(stored, size)
        emit(StoreMail(key, stored))

    def _index(self, key: str, box: list[StoredMessage]) -> mailbox.BoxIndex:
        """The index of mailbox `key`, so a save need not scan the box. It is rebuilt
        whenever the box was replaced (hand-over, rename, release)."""
        index = self._mail_index.get(key)
        if index is None or index.box is not box:
            index = self._mail_index[key] = mailbox.BoxIndex.of(box)
        return index
