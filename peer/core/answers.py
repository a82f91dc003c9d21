"""The registry's answers to our requests, as taken: each matched to its request (or to
one given up on lately, whose late answer still counts), then handed to the part it
concerns (PeerCore's table of takers), and the outcomes that follow an accepted save or
post (saved, delivered, relayed). Sans-IO: Print and SendStream actions.
"""

from __future__ import annotations

from collections.abc import Callable

from peer.core.actions import Emit, Print, SendStream
from peer.core.registry_link import RegistryLink
from peer.core.room_membership import Membership
from peer.core.shared import Shared, not_saved, quoted
from wire.messages import (
    Ack,
    ChannelPost,
    Join,
    Leave,
    Message,
    Refused,
    RoomPost,
    Saved,
    SaveMessage,
    TableRequest,
    TooBig,
)
from wire.names import name_key

#: Does what the registry's answer (second) to our request (first) says.
Take = Callable[[Message, Message, float, Emit], None]


class Answers:
    """Answers matched to requests; the joins a room's notice showed done before their
    ack came."""

    def __init__(
        self, shared: Shared, link: RegistryLink, membership: Membership, take: Take
    ) -> None:
        """`take` does what an answer says, once it is matched to its request."""
        self._shared = shared
        self._link = link
        self._membership = membership
        self._take = take
        # ids of joins in flight whose room's notice came: done, their ack still to come
        # (see `joined_by_notice`)
        self._noticed_joins: set[str] = set()

    def answer(self, reply: Message, reply_to: str, now: float, emit: Emit) -> None:
        """`reply`, the registry's, came for our request `reply_to`: taken when it is to a
        request waited for (or given up on lately)."""
        shared = self._shared
        requests = shared.requests
        if isinstance(reply, TooBig):
            request = requests.stream(reply_to, now)
            if request is not None:
                emit(SendStream(shared.server, request.message, shared.trust.registry))
            return
        request = requests.answer(reply_to, now)
        if request is not None:
            message = request.message
        else:
            late = requests.take_given_up(reply_to)
            if late is None or isinstance(reply, Refused | TooBig):
                return  # a copy, or a refusal of what was already said to have failed
            # Done after all (the registry was slow, or the answers were lost): what the
            # registry did is what counts, or this peer and the table disagree for good.
            message = late
        self._take(message, reply, now, emit)
        if request is not None:
            # once the answer is taken: a kept message it answers is out of the outbox, or
            # kept again (see RegistryLink.over)
            self._link.over(message, now, emit)

    def take_as_acked(self, message: Message, now: float, emit: Emit) -> None:
        """Take `message` as acked: done, its ack lost or overtaken."""
        self._take(message, Ack(self._shared.new_id(), message.id), now, emit)

    # -- what is taken ------------------------------------------------------------------

    def save_accepted(self, save: SaveMessage, reply: Message, now: float, emit: Emit) -> None:
        """The registry took `save`: its outcome (saved, delivered) is awaited."""
        kept = self._shared.outbox.answered(save)
        self._shared.requests.await_outcome(save, now, kept=kept)

    def post_accepted(self, post: ChannelPost, reply: Message, now: float, emit: Emit) -> None:
        """The registry took channel post `post`: said, and its relaying awaited."""
        kept = self._shared.outbox.answered(post)
        # Kept (in the sending log too) until its outcome: see `relay_outcome`. The
        # answer to asking again for that outcome is not said a second time.
        if self._shared.requests.await_outcome(post, now):
            if kept:
                line = f"[Kept message received by Server: {quoted(post.text)}]"
                emit(Print(line, "system"))
            else:
                emit(Print("[Message received by Server.]", "system"))

    def room_post_accepted(self, post: RoomPost, reply: Message, now: float, emit: Emit) -> None:
        """The registry took room line `post`: its relaying awaited, as a channel post's."""
        shared = self._shared
        kept = shared.outbox.answered(post)
        if shared.requests.await_outcome(post, now) and kept:
            line = f"[Kept line said in {post.room}: {quoted(post.text)}]"
            emit(Print(line, "system"))
        # our own line, under its id: not shown again when the room's history is
        shared.inbox.handed_over(post.sender, post.id, emit)

    def leave_answered(self, leave: Leave, reply: Message, now: float, emit: Emit) -> None:
        self._shared.outbox.answered(leave)

    def join_answered(self, join: Join, reply: Message, now: float, emit: Emit) -> None:
        self._noticed_joins.discard(join.id)
        self._membership.joined(join, now, emit)

    # -- joins done by a notice ---------------------------------------------------------

    def joined_by_notice(self, room: str, now: float, emit: Emit) -> None:
        """A notice about `room` while our join of it waits for its ack: the registry
        tells a room's members only, so the join is done. Its ack comes after the notice
        and the room's history, and the lines typed after the join wait for the ack, so
        that they are carried out after the history is shown (a script's `join lobby`
        then `leave` showed the history after `[You left lobby.]`). Should the ack be
        lost, with the registry killed in between, the join's give-up is taken as its ack
        (see `noticed`): the peer does not say that the join failed, nor take its next
        lines as outside the room the registry has it in. A join given up on already is
        taken as answered at once."""
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
        pending = requests.take_outcome(saved.reply_to)
        request = requests.answer_sent(saved.reply_to)
        if pending is None and request is None:
            return  # a copy of an outcome already shown
        kept = requests.outcome_of_kept(saved.reply_to)
        if request is not None:  # the outcome overtook the save's Ack
            kept = shared.outbox.answered(request.message) or kept
            self._link.over(request.message, now, emit)
        save = pending if pending is not None else request.message if request else None
        text = save.text if kept and isinstance(save, SaveMessage) else None
        if saved.refused:
            if isinstance(save, SaveMessage):
                emit(Print(not_saved(save, saved.refused, kept=kept), "error"))
            else:
                emit(Print(f"[{saved.refused}]", "error"))
        elif saved.delivered:
            if text is None:
                line = f"[Client {saved.to} exists!!]"
            else:
                line = f"[Kept message delivered to {saved.to}: {quoted(text)}]"
            emit(Print(line, "system"))
            if not self._shared.requests.any_of(
                TableRequest, streamed=True
            ):  # (its answer on its way will do)
                # the table we hold is behind: what changed since its version
                behind = TableRequest(shared.new_id(), shared.table.version)
                self._link.request(behind, now, emit, quiet=True)
        elif text is not None:
            line = f"[Kept message for {saved.to} saved at the server: {quoted(text)}]"
            emit(Print(line, "system"))
        else:
            emit(Print("[Messages received by the server and saved]", "system"))

    def relay_outcome(self, post_id: str, now: float, emit: Emit) -> None:
        """Every other member has channel or room post `post_id` (a channel post may wait in
        their mailbox), or is gone: it is delivered, and leaves the sending log. Should its
        Ack have been lost, this answers it too."""
        requests = self._shared.requests
        request = requests.answer_sent(post_id)
        if request is not None:  # the outcome overtook the post's Ack
            self.take_as_acked(request.message, now, emit)
            self._link.over(request.message, now, emit)
        if requests.take_outcome(post_id) is not None:
            self._shared.settling.maybe(post_id)
