"""Direct messages their sender could not deliver, saved at the registry (SaveMessage),
and what becomes of the pushes nobody acked.

Pure: the caller supplies `now`. A save for a peer the table says is online is delivered
by the registry itself, as a push that probes the peer: acked, it was delivered; not, it
goes to the mailbox. Either way the sender hears the outcome (Saved), pushed until acked.
A saved message keeps the key its save came with (`saved_by`), delivered or stored: the
key that sealed it, by which its recipient knows its sender (peer/core/sealed_mail.py).
"""

from __future__ import annotations

from collections import OrderedDict

from registry.core.actions import Emit, Log, SaveTable, Send
from registry.core.authority import Claim
from registry.core.mailboxes import Deposit
from registry.core.post_office import PostOffice
from registry.core.push_records import Flight, Push
from registry.core.requests import Reason, Request, remember
from registry.core.services import Services
from registry.core.table import Record
from wire.limits import MAX_SEALED
from wire.messages import ChannelMessage, Chat, Saved, SaveMessage
from wire.names import name_key
from wire.refusals import unknown_name


class Saving:
    """The saves in progress and done lately, kept by `post` when not delivered."""

    def __init__(self, services: Services, post: PostOffice) -> None:
        self._s = services
        self._post = post
        # save id -> the save, while the push of it probes the recipient
        self._probing: dict[str, SaveMessage] = {}
        # ids of saves already handled -> outcome (for late copies)
        self._done: OrderedDict[str, Saved] = OrderedDict()

    def save(self, msg: SaveMessage, req: Request, now: float, emit: Emit) -> None:
        """Save `msg` for its recipient: delivered by the registry if the recipient may be
        online, else kept in its mailbox; a copy of a save handled is answered again."""
        sender = self._s.authority.authorised(req, Claim(msg.sender, msg.token, "save"), emit)
        if sender is None or self._copy(msg, req, sender, now, emit):
            return
        recipient = self._recipient(msg, req, sender, emit)
        if recipient is None:
            return
        if sender.wrote(name_key(recipient.name)):
            # half its mailbox is kept for those it writes to
            emit(SaveTable((name_key(sender.name),)))
        if recipient.online:
            # It may still be alive: deliver it ourselves; the probe's outcome decides.
            self._probing[msg.id] = msg
            # under the name it was sent as (see relay.py): the recipient shows it once;
            # with the key it came with, which sealed it (peer/core/sealed_mail.py)
            chat = Chat(msg.id, msg.sender, recipient.name, msg.text, req.key)
            self._s.pusher.push(recipient, chat, "probe", now, emit)
            self._s.answers.ack(req, emit)
            emit(Log(f"probing {recipient.name} for a message from {sender.name}"))
            return
        deposit = Deposit(msg.id, msg.sender, msg.text, "direct", req.origin, req.key)
        reason = self._post.store(recipient, deposit, now, emit)
        if reason:
            what = f"save from {sender.name} for {msg.to}"
            self._s.answers.refuse(req, Reason(reason, "mailbox refused"), what, emit)
            return
        self._s.answers.ack(req, emit)
        self._finish(msg, sender, now, emit, refused="")

    def delivered(self, flight: Flight, now: float, emit: Emit) -> None:
        """The recipient acked `flight`, a push of the registry's own (purpose "probe"):
        the save it carried was delivered."""
        save = self._probing.pop(flight.message.id, None)
        sender = self._s.table.get(save.sender) if save else None
        if save and sender:
            emit(Log(f"delivered message from {save.sender} to {save.to} itself"))
            self._finish(save, sender, now, emit, refused=None)

    def undelivered(self, record: Record, push: Push, now: float, emit: Emit) -> None:
        """A push to `record` that will not be acked: a channel message or a probed direct
        message goes to its mailbox (the direct message's sender hears it was saved, or
        why not); anything else is dropped (a table change: the Welcome has the table)."""
        match push.message:
            case Chat() as chat if push.purpose == "probe":
                origin = self._post.origin(chat.sender)
                deposit = Deposit(chat.id, chat.sender, chat.text, "direct", origin, chat.saved_by)
                refused = self._post.store(record, deposit, now, emit)
                save = self._probing.pop(chat.id, None)
                sender = self._s.table.get(save.sender) if save else None
                if save and sender:
                    self._finish(save, sender, now, emit, refused=refused)
            case ChannelMessage() as relay:
                origin = self._post.origin(relay.sender)
                deposit = Deposit(relay.id, relay.sender, relay.text, "channel", origin)
                self._post.store(record, deposit, now, emit)
            case _:
                pass

    def _copy(self, msg: SaveMessage, req: Request, sender: Record, now: float, emit: Emit) -> bool:
        """Whether `msg` is a copy of a save handled or in progress: its outcome is pushed
        again, or (still probing) it is acked, and nothing is stored twice."""
        done = self._done.get(msg.id)
        if done is not None:
            self._s.pusher.push(sender, done, "outcome", now, emit)
            return True
        if msg.id in self._probing:
            self._s.answers.ack(req, emit)
            return True
        return False

    def _recipient(
        self, msg: SaveMessage, req: Request, sender: Record, emit: Emit
    ) -> Record | None:
        """The record `msg` is for, if it can take it; else the save is refused (an
        unknown name, a text too long) or the sender sent the table (see below)."""
        # A name given up by a rename leads to the peer that gave it up while nobody took it
        # since: in memory for a while (aliases), and in the table across restarts (a
        # message on its way to the old name as the registry was killed is not refused).
        table = self._s.table
        recipient = self._s.aliases.lookup(msg.to) or table.renamed_from(msg.to)
        if recipient is None:
            reason = Reason(unknown_name(msg.to), "no such name")
            self._s.answers.refuse(req, reason, f"save for unknown {msg.to}", emit)
            return None
        if len(msg.text.encode()) > MAX_SEALED:  # sealed: the registry cannot read it
            self._s.answers.refuse(req, "Message too long.", f"save from {sender.name}", emit)
            return None
        if msg.key and recipient.key and msg.key != recipient.key:
            # Sealed to a key the recipient no longer has (its name moved to a new machine a
            # moment ago): it could not open it. Not taken: the sender is sent the table
            # now, and its next try, sealed anew, is.
            what = f"save from {sender.name} for {recipient.name}: sealed to its former key"
            emit(Log(f"{what}; sent the table"))
            emit(Send(req.addr, self._s.feed.snapshot(""), req.asker))
            return None
        return recipient

    def _finish(
        self, msg: SaveMessage, sender: Record, now: float, emit: Emit, refused: str | None
    ) -> None:
        """Tell the sender of `msg` what became of it: delivered (`refused` None), kept
        (""), or why it was not kept; and remember that, for late copies."""
        delivered = refused is None
        outcome = Saved(self._s.answers.new_id(), msg.id, msg.to, delivered, refused or "")
        remember(self._done, msg.id, outcome)
        self._s.pusher.push(sender, outcome, "outcome", now, emit)
