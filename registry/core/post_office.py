"""The mail kept for peers that were offline, with what each mailbox keeps of its owner,
and its hand-over to the owner.

Pure: the caller supplies `now`. The boxes, their limits and the senders' quotas are
registry/core/mailboxes.py's; what proves who owns a box is registry/core/owners.py's. This part
keeps the two together (a box stored to keeps its owner beside it, a box gone forgets
it), rebuilds the table's rows from the owners at a start, and answers MailTaken.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from registry.core.actions import Action, Emit, KeepOwner, Log, SaveTable, Send
from registry.core.authority import Claim
from registry.core.mailboxes import Deposit, Mailboxes
from registry.core.owners import Owner, rebuild
from registry.core.quotas import NO_ORIGIN, Origin, Quotas
from registry.core.requests import Request
from registry.core.services import Services
from registry.core.table import Record
from wire.messages import Ack, MailTaken, MoreMail, StoredMessage
from wire.names import name_key
from wire.words import counted

#: Names listed in the start's line about rows rebuilt from mailboxes.
_NAMES_SHOWN = 10


class PostOffice:
    """Every mailbox (`boxes`, by owner's name key, as the adapter loaded them), each
    holding at most `limit` messages, no sender more than `quotas` allow; `owners` are what
    each box kept of its owner (registry/core/owners.py)."""

    def __init__(
        self,
        services: Services,
        boxes: dict[str, list[StoredMessage]],
        owners: Mapping[str, Owner],
        limit: int,
        quotas: Quotas | None,
    ) -> None:
        """A box whose name the table lacks gets its row back from its owner (said in
        `rebuilt`, for the start to log and save)."""
        self._s = services
        self._owners: dict[str, Owner] = dict(owners)
        #: said on the console at the start, and the table saved with the rows rebuilt
        self.rebuilt: list[Action] = self._rebuild(boxes)
        new_id = services.answers.new_id
        self._boxes = Mailboxes(boxes, limit, new_id, self._origin_of, quotas)

    @property
    def boxes(self) -> dict[str, list[StoredMessage]]:
        """The stored messages by their owner's name key, oldest first (read only)."""
        return self._boxes.boxes

    def store(self, record: Record, deposit: Deposit, now: float, emit: Emit) -> str:
        """Keep `deposit` in `record`'s mailbox, and keep beside the box who owns it: ""
        when kept, else why not (one line for its sender). Its sender is known to the
        owner when the owner wrote to it (registry/core/quotas.py keeps half the box for those)."""
        deposit = dataclasses.replace(deposit, known=record.knows(deposit.sender))
        refused = self._boxes.store(record, deposit, self._s.clock.wall(now), emit)
        if not refused:
            self.keep_owner(record, emit)
        return refused

    def keep_owner(self, record: Record, emit: Emit) -> None:
        """Keep beside `record`'s mailbox what proves the name is its owner's, if that has
        changed since it was last kept (registry/core/owners.py); forget it once the box is gone
        (the adapter deletes it with the box's last message)."""
        box = name_key(record.name)
        if box not in self._boxes.boxes:
            self._owners.pop(box, None)
            return
        owner = Owner.of(record)
        if self._owners.get(box) != owner:
            self._owners[box] = owner
            emit(KeepOwner(box, owner))

    def origin(self, sender: str) -> Origin:
        """Who the name `sender` is (its key and address), for a message of its stored
        now that it did not send just now (a push that failed): the message counts against
        them (registry/core/quotas.py). The registry's own: nobody."""
        record = self._s.aliases.lookup(sender) if sender else None
        return NO_ORIGIN if record is None else (record.key, record.ip)

    def part(self, record: Record) -> tuple[StoredMessage, ...]:
        """The next part of `record`'s mailbox to hand over (registry/core/mailboxes.py)."""
        return self._boxes.part(record)

    def taken(self, msg: MailTaken, req: Request, now: float, emit: Emit) -> None:
        """The owner's peer has shown the messages `msg.ids`: they leave its box, and the
        next part follows (MoreMail), or the hand-over is over (Ack)."""
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
        """The name keyed `key` was released: its box and owner are forgotten. How many
        messages the box held."""
        dropped = self._boxes.drop(key, emit)
        self._owners.pop(key, None)
        return dropped

    def _origin_of(self, box: str, message: StoredMessage) -> tuple[Origin, bool]:
        """Who sent `message`, kept in mailbox `box` before this registry started: the key
        and address its sender's name has in the table (no renames are followed yet), and
        whether a stranger to the box's owner."""
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
