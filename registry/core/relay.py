"""ChannelPost and RoomPost, and the outcome of every relay, told its sender."""

from __future__ import annotations

from registry.core.actions import Emit, KeepHistory, Log, Send
from registry.core.authority import Claim
from registry.core.requests import Recent, Request, public_key, remember
from registry.core.rooms import Room, Rooms
from registry.core.services import Mail, Services
from registry.core.table import Record
from wire.limits import MAX_TEXT
from wire.messages import ChannelMessage, ChannelPost, Relayed, RoomMessage, RoomPost, StoredMessage
from wire.names import name_key, name_problem


class Relay:
    """Relays each post once: to the channel (mailboxes for those offline), or a room."""

    def __init__(self, services: Services, post: Mail, rooms: Rooms) -> None:
        self._s = services
        self._post = post
        self._rooms = rooms
        # ids of posts already taken -> whether their relay has ended
        self._done = Recent[bool]()
        # post id -> its sender's name, while its relay goes on (see `over`)
        self._relaying: dict[str, str] = {}

    def channel(self, msg: ChannelPost, req: Request, now: float, emit: Emit) -> None:
        sender = self._s.names.authorised(req, Claim(msg.sender, msg.token, "send_all"), emit)
        if sender is None or self._copy(msg.id, req, emit):
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

    def room(self, msg: RoomPost, req: Request, now: float, emit: Emit) -> None:
        sender = self._s.names.member(req, Claim(msg.sender, msg.token, "room message"), emit)
        if sender is None or self._copy(msg.id, req, emit):
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
            if post_id in self._done:
                self._done[post_id] = True
            if sender is not None:
                relayed = Relayed(self._s.answers.new_id(), post_id)
                emit(Send(sender.addr, relayed, public_key(sender)))

    def taken(self, post_id: str) -> bool | None:
        """Whether post `post_id`'s relay is over (None: not taken)."""
        return self._done.get(post_id)

    def _started(self, post_id: str, sender: Record) -> None:
        remember(self._done, post_id, False)
        self._relaying[post_id] = sender.name
        self._s.pushes.watch(post_id)

    def _copy(self, post_id: str, req: Request, emit: Emit) -> bool:
        """Whether post `post_id` was taken already (its copy is answered)."""
        relayed = self._done.get(post_id)
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
            reason = (f"You are not in {where}.", "not in the room")
            self._s.answers.refuse(req, reason, what, emit)
            return None
        if len(msg.text.encode()) > MAX_TEXT:
            self._s.answers.refuse(req, "Message too long.", what, emit)
            return None
        return room
