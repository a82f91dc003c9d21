"""The registry's answers to our requests, matched and handed to their takers
(peer.core.received), and the outcomes of accepted saves and posts. Sans-IO.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from peer.core.actions import Emit, Print, SendStream
from peer.core.registry_link import RegistryLink
from peer.core.request_kinds import takers
from peer.core.room_membership import Membership
from peer.core.shared import Shared, not_saved, quoted
from wire.messages import (
    Ack,
    ChannelPost,
    Join,
    Leave,
    Message,
    RoomPost,
    Saved,
    SaveMessage,
    TooBig,
)
from wire.names import name_key

RECEIVED_BY_SERVER: Final = "[Message received by Server.]"
SAVED: Final = "[Messages received by the server and saved]"
CLIENT_EXISTS: Final = "[Client {} exists!!]"


class Answers:
    """Answers matched to requests and handed to their kind's part (request_kinds.KINDS);
    the joins a notice showed done before their ack."""

    def __init__(
        self,
        shared: Shared,
        link: RegistryLink,
        membership: Membership,
        parts: Mapping[str, object],
    ) -> None:
        """`parts`: the parts that take answers, by name (this one is "answers")."""
        self._shared = shared
        self._link = link
        self._membership = membership
        #: The handler of the answer to each kind of request (read-only).
        self.takers = takers({"answers": self, **parts})
        # ids of joins in flight whose room's notice came (`joined_by_notice`)
        self._noticed_joins: set[str] = set()

    def answer(self, reply: Message, reply_to: str, now: float, emit: Emit) -> None:
        """`reply` came for our request `reply_to`: taken when it is waited for (or was
        given up on lately: what the registry did is what counts)."""
        shared = self._shared
        requests = shared.requests
        if isinstance(reply, TooBig):
            request = requests.stream(reply_to, now)
            if request is not None:
                emit(SendStream(shared.requests.server, request.message, shared.trust.registry))
            return
        request = requests.answer(reply_to, now)
        if request is not None:
            message = request.message
        else:
            late = requests.outcomes.take_given_up(reply_to)
            if late is None:
                return  # a copy
            message = late
        self.take(message, reply, now, emit)
        if request is not None:
            self._link.over(message, now, emit)

    def take_as_acked(self, message: Message, now: float, emit: Emit) -> None:
        """Take `message` as acked: done, its ack lost or overtaken."""
        self.take(message, Ack(self._shared.new_id(), message.id), now, emit)

    def take(self, message: Message, reply: Message, now: float, emit: Emit) -> None:
        """Do what `reply`, the registry's answer to our request `message`, says (its kind's
        part does; a refusal is RequestEnds')."""
        taker = self.takers.get(type(message))
        if taker is not None:
            taker(message, reply, now, emit)

    # -- what is taken ------------------------------------------------------------------

    def save_accepted(self, save: SaveMessage, reply: Message, now: float, emit: Emit) -> None:
        """The registry took `save`: its outcome (saved, delivered) is awaited."""
        kept = self._shared.settling.answered(save)
        self._shared.requests.outcomes.wait(save, now, kept=kept)

    def post_accepted(self, post: ChannelPost, reply: Message, now: float, emit: Emit) -> None:
        """The registry took channel post `post`: said, and its relaying awaited."""
        kept = self._shared.settling.answered(post)
        if self._shared.requests.outcomes.wait(post, now):
            if kept:
                line = f"[Kept message received by Server: {quoted(post.text)}]"
                emit(Print(line, "system"))
            else:
                emit(Print(RECEIVED_BY_SERVER, "system"))

    def room_post_accepted(self, post: RoomPost, reply: Message, now: float, emit: Emit) -> None:
        """The registry took room line `post`: its relaying awaited, as a channel post's."""
        shared = self._shared
        kept = shared.settling.answered(post)
        if shared.requests.outcomes.wait(post, now) and kept:
            line = f"[Kept line said in {post.room}: {quoted(post.text)}]"
            emit(Print(line, "system"))
        # our own line, under its id: not shown again when the room's history is
        shared.inbox.handed_over(post.sender, post.id, emit)

    def leave_answered(self, leave: Leave, reply: Message, now: float, emit: Emit) -> None:
        self._shared.settling.answered(leave)

    def join_answered(self, join: Join, reply: Message, now: float, emit: Emit) -> None:
        self._noticed_joins.discard(join.id)
        self._membership.joined(join, now, emit)

    # -- joins done by a notice ---------------------------------------------------------

    def joined_by_notice(self, room: str, now: float, emit: Emit) -> None:
        """A notice about `room` while our join of it waits: the join is done (only members
        are told). Should its ack be lost, its give-up is taken as its ack (`noticed`); one
        given up on already is taken as answered at once."""
        requests = self._shared.requests
        key = name_key(room)
        for join in requests.messages(streamed=True, given_up=True):
            if isinstance(join, Join) and name_key(join.room) == key:
                if requests.holds(join.id):
                    self._noticed_joins.add(join.id)
                else:
                    self.answer(Ack(self._shared.new_id(), join.id), join.id, now, emit)
                return

    def noticed(self, msg_id: str) -> bool:
        """Whether join `msg_id` was shown done by its room's notice (its ack lost)."""
        return msg_id in self._noticed_joins

    # -- outcomes -----------------------------------------------------------------------

    def save_outcome(self, saved: Saved, now: float, emit: Emit) -> None:
        """What became of a save of ours: saved, delivered, or refused."""
        shared = self._shared
        requests = shared.requests
        shared.settling.maybe(saved.reply_to)
        pending = requests.outcomes.take(saved.reply_to)
        request = requests.answer(saved.reply_to)
        if pending is None and request is None:
            return  # a copy of an outcome already shown
        kept = requests.outcomes.of_kept(saved.reply_to)
        if request is not None:  # the outcome overtook the save's Ack
            kept = shared.settling.answered(request.message) or kept
            self._link.over(request.message, now, emit)
        shared.settling.held.discard(saved.reply_to)  # (held again while the registry was away)
        save = pending if pending is not None else request.message if request else None
        text = save.text if kept and isinstance(save, SaveMessage) else None
        if saved.refused:
            if isinstance(save, SaveMessage):
                emit(Print(not_saved(save, saved.refused, kept=kept), "error"))
            else:
                emit(Print(f"[{saved.refused}]", "error"))
        elif saved.delivered:
            if text is None:
                line = CLIENT_EXISTS.format(saved.to)
            else:
                line = f"[Kept message delivered to {saved.to}: {quoted(text)}]"
            emit(Print(line, "system"))
        elif text is not None:
            line = f"[Kept message for {saved.to} saved at the server: {quoted(text)}]"
            emit(Print(line, "system"))
        else:
            emit(Print(SAVED, "system"))

    def relay_outcome(self, post_id: str, now: float, emit: Emit) -> None:
        """Every other member has post `post_id`, or is gone: it is delivered (and answered,
        should its Ack have been lost)."""
        requests = self._shared.requests
        request = requests.answer(post_id)
        if request is not None:  # the outcome overtook the post's Ack
            self.take_as_acked(request.message, now, emit)
            self._link.over(request.message, now, emit)
        post = requests.outcomes.take(post_id)
        if post is not None:
            self._shared.settling.answered(post)  # (held again while the registry was away)
