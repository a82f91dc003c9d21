"""ChannelPost, and the outcome of every relay (a channel's or a room's), told its sender."""

from __future__ import annotations

from registry.core.actions import Emit, Log, Send
from registry.core.authority import Claim
from registry.core.requests import Recent, Request, public_key, remember
from registry.core.services import Mail, Services
from registry.core.table import Record
from wire.limits import MAX_TEXT
from wire.messages import ChannelMessage, ChannelPost, Relayed, StoredMessage
from wire.names import name_key


class Relay:
    def __init__(self, services: Services, post: Mail) -> None:
        self._s = services
        self._post = post
        # ids of posts already taken -> whether their relay has ended
        self._done = Recent[bool]()
        # post id -> its sender's name, while its relay goes on (see `over`)
        self._relaying: dict[str, str] = {}

    def channel(self, msg: ChannelPost, req: Request, now: float, emit: Emit) -> None:
        """Relay `msg` to every peer but its sender (a copy of one taken is only answered)."""
        sender = self._s.authority.authorised(req, Claim(msg.sender, msg.token, "send_all"), emit)
        if sender is None:
            return
        relayed = self._done.get(msg.id)
        if relayed is None:
            if len(msg.text.encode()) > MAX_TEXT:
                what = f"send_all from {sender.name}"
                self._s.answers.refuse(req, "Message too long.", what, emit)
                return
            self.started(msg.id, sender)
            # under the name it was sent as: members show every copy once
            relay = ChannelMessage(msg.id, msg.sender, msg.text, msg.after)
            roster = self._s.changes.roster()
            # the line waits for no commit, the answer for the copies kept (PASSED_ON)
            online = self._s.pusher.relay(relay, roster, name_key(sender.name), now, emit)
            kept = StoredMessage(msg.id, msg.sender, msg.text, "", "channel", after=msg.after)
            offline = (record for record in roster.offline if record is not sender)
            saved = sum(not self._post.store(r, kept, req.origin, now, emit) for r in offline)
            what = f"channel message from {sender.name} relayed to {online} online"
            emit(Log(f"{what}, saved in {saved} mailbox(es)"))
        self.answered(req, bool(relayed), emit)

    def taken(self, post_id: str) -> bool | None:
        """Whether post `post_id` was taken, and its relay is over (None: not taken)."""
        return self._done.get(post_id)

    def started(self, post_id: str, sender: Record) -> None:
        """Post `post_id` is taken, and relayed from now."""
        remember(self._done, post_id, False)
        self._relaying[post_id] = sender.name
        self._s.pushes.watch(post_id)

    def answered(self, req: Request, relayed: bool, emit: Emit) -> None:
        """Ack the post `req`; a copy of one whose relay is over is told that again too."""
        self._s.answers.ack(req, emit)
        if relayed:
            self._s.answers.reply(req, emit, Relayed)

    def over(self, emit: Emit) -> None:
        """Tell the sender of each post whose relay has ended (once, not pushed)."""
        if not self._relaying:
            return
        for post_id in self._s.pushes.ended():
            name = self._relaying.pop(post_id, None)
            if name is None:
                continue
            sender = self._s.aliases.lookup(name)
            if post_id in self._done:
                self._done[post_id] = True
            if sender is not None:
                relayed = Relayed(self._s.answers.new_id(), post_id)
                emit(Send(sender.addr, relayed, public_key(sender)))
