"""The mailboxes and their owners, kept together (a box stored to keeps its owner beside
it, a box gone forgets it); the table's rows rebuilt from the owners at a start; MailTaken.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from registry.core.actions import Action, Emit, KeepOwner, Log, SaveTable, Send
from registry.core.authority import Claim
from registry.core.mailboxes import Deposit, Mailboxes
from registry.core.quotas import NO_ORIGIN, Origin, Quotas
from registry.core.requests import Request
from registry.core.services import Services
from registry.core.table import Owner, Record
from wire.messages import Ack, MailTaken, MoreMail, StoredMessage
from wire.names import name_key
from wire.words import counted

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
        self._s = services
        self._owners: dict[str, Owner] = dict(owners)
        #: rows rebuilt for boxes the table lacked: said and saved at the start
        self.rebuilt: list[Action] = self._rebuild(boxes)
        new_id = services.answers.new_id
        self._boxes = Mailboxes(boxes, limit, new_id, self._origin_of, quotas)

    @property
    def boxes(self) -> dict[str, list[StoredMessage]]:
        """The stored messages by their owner's name key, oldest first (read only)."""
        return self._boxes.boxes

    def store(self, record: Record, deposit: Deposit, now: float, emit: Emit) -> str:
        """Keep `deposit` in `record`'s mailbox, and its owner beside it: "" when kept,
        else why not, for its sender."""
        deposit = dataclasses.replace(deposit, known=record.knows(deposit.sender))
        refused = self._boxes.store(record, deposit, self._s.wall(now), emit)
        if not refused:
            self.keep_owner(record, emit)
        return refused

    def keep_owner(self, record: Record, emit: Emit) -> None:
        """Keep beside `record`'s mailbox its Owner, if changed; forget it once the box is
        gone."""
        box = name_key(record.name)
        if box not in self._boxes.boxes:
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

    def part(self, record: Record) -> tuple[StoredMessage, ...]:
        """The next part of `record`'s mailbox to hand over."""
        return self._boxes.part(record)

    def taken(self, msg: MailTaken, req: Request, now: float, emit: Emit) -> None:
        """The owner's peer has shown `msg.ids`: the next part follows (MoreMail), or Ack."""
        claim = Claim(msg.name, msg.token, "mail hand-over", fresh=True)
        record = self._s.authority.authorised(req, claim, emit)
        if record is None:
            return
        self._boxes.taken(record, msg.ids, emit)
        self.keep_owner(record, emit)  # (forgotten with the box, once all is taken)
        rest = self._boxes.part(record)
        if rest:
            emit(Send(req.addr, MoreMail(self._s.answers.new_id(), req.id, rest), req.asker))
        else:
            emit(Send(req.addr, Ack(self._s.answers.new_id(), req.id), req.asker))

    def moved(self, old_key: str, record: Record, emit: Emit) -> None:
        """`record` was renamed from the name keyed `old_key`: its box follows it."""
        self._boxes.move(old_key, name_key(record.name), emit)
        self._owners.pop(old_key, None)
        self.keep_owner(record, emit)

    def dropped(self, key: str, emit: Emit) -> int:
        """The name keyed `key` was released: its box and owner are forgotten; how many
        messages the box held."""
        dropped = self._boxes.drop(key, emit)
        self._owners.pop(key, None)
        return dropped

    def _origin_of(self, box: str, message: StoredMessage) -> tuple[Origin, bool]:
        """Who sent `message`, loaded in box `box`, by its sender's row, and whether a
        stranger to the box's owner."""
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
    """Put in `records` a row for every mailbox in `boxes` that has none: its owner's, from
    `owners`, else one that nobody can take (no key, no token, no password: only the
    console releases it). The names rebuilt from an owner, and those kept for nobody."""
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
