"""What peers hand the registry for others, each taken once: a message saved for one
(SaveMessage), a line for the channel or a room (ChannelPost, RoomPost); the pushes of them
given up or refused; and each outcome, told its sender. A save for a peer online is pushed
as a probe: acked, it was delivered; else it goes to the mailbox."""

from __future__ import annotations

from registry.core.actions import Emit, KeepHistory, Log, SaveTable, Send
from registry.core.pushes import Flight, Push
from registry.core.requests import Recent, Request, fmt, public_key, remember
from registry.core.rooms import Room, Rooms
from registry.core.services import Mail, Probes, Services, Unacked
from registry.core.table import Record
from wire.limits import MAX_SEALED, MAX_TEXT
from wire.messages import (
    ChannelMessage,
    ChannelPost,
    Chat,
    Refused,
    Relayed,
    RoomMessage,
    RoomPost,
    Saved,
    SaveMessage,
    StoredMessage,
)
from wire.names import name_key, name_problem
from wire.refusals import unknown_name

#: The purposes of pushes whose peer is probed when they go unacked (registry/core/pushes.py).
RELAYED = frozenset(("relay", "probe", "room"))


class Posts:
    def __init__(
        self, services: Services, post: Mail, liveness: Probes, unacked: Unacked, rooms: Rooms
    ) -> None:
        self._s, self._post, self._liveness, self._unacked = services, post, liveness, unacked
        self._rooms = rooms
        # save id -> the save, while the push of it probes the recipient
        self._probing: dict[str, SaveMessage] = {}
        # ids of saves already handled -> outcome (for late copies)
        self._saved = Recent[Saved]()
        # ids of posts already taken -> whether their relay has ended
        self._posted = Recent[bool]()
        # post id -> its sender's name, while its relay goes on (see `over`)
        self._relaying: dict[str, str] = {}

    def save(self, msg: SaveMessage, req: Request, sender: Record, now: float, emit: Emit) -> None:
        done = self._saved.get(msg.id)
        if done is not None:  # a late copy: told its outcome again
            self._s.pushes.push((sender,), done, "outcome", now, emit)
            return
        if msg.id in self._probing:
            self._s.answers.ack(req, emit)
            return
        recipient = self._recipient(msg, req, sender, emit)
        if recipient is None:
            return
        if sender.wrote(name_key(recipient.name)):
            # half its mailbox is kept for those it writes to
            emit(SaveTable((name_key(sender.name),)))
        if recipient.online:
            # delivered as a probe, under the name and key it was sent with
            self._probing[msg.id] = msg
            chat = Chat(msg.id, msg.sender, msg.to, msg.text, req.key, msg.after)
            self._s.pushes.push((recipient,), chat, "probe", now, emit)
            self._s.answers.ack(req, emit)
            emit(Log(f"probing {recipient.name} for a message from {sender.name}"))
            return
        kept = StoredMessage(msg.id, msg.sender, msg.text, "", "direct", req.key, msg.after)
        reason = self._post.store(recipient, kept, req.origin, now, emit, msg.typed, msg.ticket)
        if reason:
            what = f"save from {sender.name} for {msg.to}"
            self._s.answers.refuse(req, (reason, "mailbox refused"), what, emit)
            return
        self._s.answers.ack(req, emit)
        self._finish(msg, sender, now, emit, refused="")

    def delivered(self, answered: list[Flight], now: float, emit: Emit) -> None:
        """The recipient acked `answered`: the saves among them were delivered."""
        for flight in answered:
            if flight.purpose == "probe":
                self._probed(flight.message.id, now, emit, refused=None)

    def undelivered(self, record: Record, flight: Flight, now: float, emit: Emit) -> None:
        """A push to `record` that will not be acked: a message goes to its mailbox."""
        match flight.message:
            case Chat() as chat if flight.purpose == "probe":
                kept = StoredMessage(
                    chat.id, chat.sender, chat.text, "", "direct", chat.saved_by, chat.after
                )
                save = self._probing.get(chat.id)
                typed, ticket = (save.typed, save.ticket) if save is not None else (0, "")
                origin = self._post.origin(chat.sender)
                refused = self._post.store(record, kept, origin, now, emit, typed, ticket)
                self._probed(chat.id, now, emit, refused)
            case ChannelMessage() as relay:
                kept = StoredMessage(
                    relay.id, relay.sender, relay.text, "", "channel", after=relay.after
                )
                if not self._post.store(record, kept, self._post.origin(relay.sender), now, emit):
                    emit(Log(f"saved channel message from {relay.sender} for {record.name}"))

    def _recipient(
        self, msg: SaveMessage, req: Request, sender: Record, emit: Emit
    ) -> Record | None:
        recipient = self._s.names.holder(msg.to)
        if recipient is None:
            reason = (unknown_name(msg.to), "no such name")
            self._s.answers.refuse(req, reason, f"save for unknown {msg.to}", emit)
            return None
        if len(msg.text.encode()) > MAX_SEALED:  # sealed: the registry cannot read it
            self._s.answers.refuse(req, "Message too long.", f"save from {sender.name}", emit)
            return None
        if msg.key and recipient.key and msg.key != recipient.key:
            # sealed to a key the recipient no longer has: its next try, sealed anew, is taken
            what = f"save from {sender.name} for {recipient.name}: sealed to its former key"
            emit(Log(f"{what}; sent the table"))
            emit(Send(req.addr, self._s.feed.snapshot(""), req.asker))
            return None
        return recipient

    def _probed(self, save_id: str, now: float, emit: Emit, refused: str | None) -> None:
        save = self._probing.pop(save_id, None)
        sender = self._s.table.get(save.sender) if save else None
        if save and sender:
            if refused is None:
                emit(Log(f"delivered message from {save.sender} to {save.to} itself"))
            self._finish(save, sender, now, emit, refused)

    def _finish(
        self, msg: SaveMessage, sender: Record, now: float, emit: Emit, refused: str | None
    ) -> None:
        delivered = refused is None
        outcome = Saved(self._s.answers.new_id(), msg.id, msg.to, delivered, refused or "")
        remember(self._saved, msg.id, outcome)
        self._s.pushes.push((sender,), outcome, "outcome", now, emit)

    def failed(self, failed: list[Push], now: float, emit: Emit, *, again: bool = True) -> None:
        """Act on pushes given up, or dropped with their peer, oldest first: RELAYED to a
        peer still online there starts over while it is probed (if `again`); others are
        undelivered."""
        for owner, addr, flight in sorted(failed, key=lambda push: push[2].seq):
            self._unacked(addr, flight, now, emit)
            record = self._s.names.lookup(owner)
            if record is None:
                continue
            if again and flight.purpose in RELAYED and record.online and record.addr == addr:
                self._liveness.probe(record, now, emit, since=now - self._s.pushes.retry_span)
                self._s.pushes.again(record, flight, now, emit)
            else:
                self.undelivered(record, flight, now, emit)

    def restarted(self, record: Record, now: float, emit: Emit) -> None:
        """The peer of `record` registers afresh: what is pushed to it is kept."""
        self.failed(self._s.pushes.drop_all(record.addr), now, emit, again=False)

    def refused(self, refusal: Refused, req: Request, now: float, emit: Emit) -> None:
        """The peer at `req.addr` refused a push it cannot read: undelivered at once."""
        owner, answered = self._s.pushes.clear_acked((refusal.reply_to,), req.addr, now)
        if not answered:
            line = f"{fmt(req.addr)} refused {refusal.reply_to}: {refusal.reason}"
            emit(Log(line, "a push refused"))
        for flight in answered:
            record = self._s.names.lookup(owner)
            if record is None:
                continue
            record.last_seen = now
            what = type(flight.message).__name__
            line = f"{record.name} refused {what} {refusal.reply_to}: {refusal.reason}"
            emit(Log(line, "a push refused"))
            self._unacked(req.addr, flight, now, emit)
            self.undelivered(record, flight, now, emit)

    def channel(
        self, msg: ChannelPost, req: Request, sender: Record, now: float, emit: Emit
    ) -> None:
        if self._posted_before(msg.id, req, emit):
            return
        if len(msg.text.encode()) > MAX_TEXT:
            self._s.answers.refuse(req, "Message too long.", f"send_all from {sender.name}", emit)
            return
        self._started(msg.id, sender)
        # under the name it was sent as: members show every copy once
        relay = ChannelMessage(msg.id, msg.sender, msg.text, msg.after)
        audience = self._s.feed.audience(name_key(sender.name))
        # the line waits for no commit, the answer for the copies kept (PASSED_ON)
        online = self._s.pushes.relay(relay, audience, now, emit)
        kept = StoredMessage(msg.id, msg.sender, msg.text, "", "channel", after=msg.after)
        offline = (record for record in self._s.feed.roster()[1] if record is not sender)
        saved = sum(not self._post.store(r, kept, req.origin, now, emit) for r in offline)
        what = f"channel message from {sender.name} relayed to {online} online"
        emit(Log(f"{what}, saved in {saved} mailbox(es)"))
        self._s.answers.ack(req, emit)

    def room(self, msg: RoomPost, req: Request, sender: Record, now: float, emit: Emit) -> None:
        if self._posted_before(msg.id, req, emit):
            return
        room = self._room_of_post(msg, req, sender, emit)
        if room is None:
            return
        self._started(msg.id, sender)
        # under the name it was said as: members show each copy once
        said = self._s.stamp(now)
        relay = RoomMessage(msg.id, msg.sender, room.name, msg.text, said, False, msg.after)
        self._s.pushes.push(room.others(sender), relay, "room", now, emit)
        if not room.holds(msg.id):  # (only the answer waits for it: PASSED_ON)
            room.keep(relay)
            emit(KeepHistory(name_key(room.name), room.kept()))
        self._s.answers.ack(req, emit)

    def over(self, emit: Emit) -> None:
        """Tell the sender of each post whose relay has ended (once, not pushed)."""
        if not self._relaying:
            return
        for post_id in self._s.pushes.ended():
            name = self._relaying.pop(post_id, None)
            if name is None:
                continue
            sender = self._s.names.lookup(name)
            if post_id in self._posted:
                self._posted[post_id] = True
            if sender is not None:
                relayed = Relayed(self._s.answers.new_id(), post_id)
                emit(Send(sender.addr, relayed, public_key(sender)))

    def _started(self, post_id: str, sender: Record) -> None:
        remember(self._posted, post_id, False)
        self._relaying[post_id] = sender.name
        self._s.pushes.watch(post_id)

    def _posted_before(self, post_id: str, req: Request, emit: Emit) -> bool:
        """Whether post `post_id` was taken already (its copy is answered)."""
        relayed = self._posted.get(post_id)
        if relayed is None:
            return False
        self._s.answers.ack(req, emit)
        if relayed:
            self._s.answers.reply(req, emit, Relayed)
        return True

    def _room_of_post(self, msg: RoomPost, req: Request, sender: Record, emit: Emit) -> Room | None:
        room = self._rooms.of(sender)
        if room is None or name_key(room.name) != name_key(msg.room):
            # a line in the room's history, asked again by a sender that left the room
            # since, is relayed again, not refused
            room = self._rooms.get(msg.room)
            room = room if room is not None and room.holds(msg.id) else None
        what = f"room message from {sender.name}"
        if room is None:
            where = "that room" if name_problem(msg.room) else msg.room
            self._s.answers.refuse(req, (f"You are not in {where}.", "not in the room"), what, emit)
            return None
        if len(msg.text.encode()) > MAX_TEXT:
            self._s.answers.refuse(req, "Message too long.", what, emit)
            return None
        return room
