"""How our requests to the registry end: answered (handed to their kind's part), refused,
or never answered (said once, what the user sent kept in the outbox). Sans-IO."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from peer.core.actions import AskRegistryKey, Emit, ExitPeer, Print, SendSealed
from peer.core.lifecycle import Event
from peer.core.registry_link import RegistryLink
from peer.core.request_kinds import EXITING as EXITING
from peer.core.request_kinds import (
    KEPT_IN_OUTBOX,
    KINDS,
    ROOMS_DOWN,
    RequestRecord,
    Stage,
    Take,
)
from peer.core.request_kinds import RECEIVED_BY_SERVER as RECEIVED_BY_SERVER
from peer.core.shared import (
    Goodbyes,
    OurRoom,
    Shared,
    name_released,
    renames_asked,
)
from wire.messages import (
    Ack,
    Busy,
    ChannelPost,
    Deregister,
    Join,
    Keepalive,
    Leave,
    Message,
    Refused,
    Register,
    RoomPost,
    Saved,
    SaveMessage,
    TooBig,
)
from wire.names import name_key
from wire.refusals import RefusalCode

_REPLACED = (RefusalCode.REPLACED, RefusalCode.REPLACED_GONE)
#: Where a join a room's notice shows done is: sent, over TCP, or given up on lately.
_SHOWN: Final = (Stage.SENT, Stage.STREAMED, Stage.GIVEN_UP)

#: Said after a refused first registration, without and with --password.
PASSWORD_HINT = "[If the name is yours and has a password, start again with --password to give it.]"
PASSWORD_HINT_AGAIN = "[Start again with --password to type the password again.]"

SERVER_NOT_RESPONDING = "[Server not responding]"
SAVED: Final = "[Messages received by the server and saved]"
CLIENT_EXISTS: Final = "[Client {} exists!!]"


def quoted(text: str, limit: int = 40) -> str:
    """A message's text in quotes, cut to `limit` characters, to say which one is meant."""
    return f"“{text if len(text) <= limit else text[: limit - 1] + '…'}”"


def not_saved(save: SaveMessage, reason: str, *, kept: bool) -> str:
    """The line for `save`, refused by the registry: to whom, why, and which message."""
    what = "Kept message" if kept else "Message"
    return f"[{what} for {save.to} not saved ({reason.rstrip('.')}): {quoted(save.text)}]"


class RequestEnds:
    """Answers matched to requests and handed to their kind's part; the joins a notice
    showed done before their ack; requests refused or given up on."""

    def __init__(
        self,
        shared: Shared,
        link: RegistryLink,
        rooms: OurRoom,
        leaving: Goodbyes,
        parts: Mapping[str, object],
    ) -> None:
        self._shared = shared
        self._link = link
        self._membership = rooms
        self._leaving = leaving
        parts = {"ends": self, **parts}
        #: Each kind's answer handler (KINDS' `answered`), bound to its part.
        self.takers: dict[type[Message], Take] = {}
        for kind, row in KINDS.items():
            if row.answered:
                part, method = row.answered.split(".")
                self.takers[kind] = getattr(parts[part], method)

    def match_reply(self, reply: Message, reply_to: str, now: float, emit: Emit) -> None:
        """`reply` came for our request `reply_to`: taken when it is waited for, and what
        waited for it goes on; or, not a refusal, when it was given up on lately (what the
        registry did is what counts; a refusal of it was said to have failed)."""
        shared = self._shared
        requests = shared.requests
        if isinstance(reply, TooBig):
            request = requests.stream(reply_to, now)
            if request is not None:
                server, key = requests.server, shared.trust.registry
                emit(SendSealed(server, request.message, key, stream=True))
            return
        request = requests.answer_came(reply_to, now)
        if request is not None:
            self.hand_answer(request.message, reply, now, emit)
            self._link.over(request.message, now, emit)
        elif not isinstance(reply, Refused) and (late := requests.take_given_up(reply_to)):
            self.hand_answer(late, reply, now, emit)  # (else a copy)

    def take_as_acked(self, message: Message, now: float, emit: Emit) -> None:
        self.hand_answer(message, Ack(self._shared.new_id(), message.id), now, emit)

    def hand_answer(self, message: Message, reply: Message, now: float, emit: Emit) -> None:
        """Do what `reply`, the registry's answer to our request `message`, says (its kind's
        part does; a refusal is `refused`'s)."""
        if isinstance(reply, Refused):
            self.refused(message, reply, now, emit)
        elif (taker := self.takers.get(type(message))) is not None:
            taker(message, reply, now, emit)

    def accepted(self, message: Message, reply: Message, now: float, emit: Emit) -> None:
        """The registry took what the user sent: no longer kept; a save's or post's outcome
        awaited, its acceptance said the first time, as its row says (KINDS)."""
        shared, row = self._shared, KINDS[type(message)]
        kept = shared.settling.stop_holding(message)
        if row.outcome and shared.requests.accept(message, now, kept=kept):
            text, room = getattr(message, "text", ""), getattr(message, "room", "")
            line = row.kept_said.format(text=quoted(text), room=room) if kept else row.said
            if line:
                emit(Print(line, "system"))
        if isinstance(message, RoomPost):
            # our own line, under its id: not shown again when the room's history is
            shared.inbox.handed_over(message.sender, message.id, emit)

    def joined_by_notice(self, room: str, now: float, emit: Emit) -> None:
        """A notice about `room` while our join of it waits: the join is done (only members
        are told). Should its ack be lost, its give-up is taken as its ack (`noticed`); one
        given up on already is taken as answered at once."""
        key = name_key(room)
        for request in list(self._shared.requests.records.values()):
            join = request.message
            if isinstance(join, Join) and name_key(join.room) == key and request.stage in _SHOWN:
                if request.stage is Stage.GIVEN_UP:
                    self.match_reply(Ack(self._shared.new_id(), join.id), join.id, now, emit)
                else:
                    request.noticed = True
                return

    def save_outcome(self, saved: Saved, now: float, emit: Emit) -> None:
        shared = self._shared
        requests = shared.requests
        shared.settling.maybe(saved.reply_to)
        pending = requests.outcome_came(saved.reply_to)
        request = requests.answer_came(saved.reply_to)
        found = pending or request
        if found is None:
            return  # a copy of an outcome already shown
        kept = pending is not None and pending.kept
        if request is not None:  # the outcome overtook the save's Ack
            kept = shared.settling.stop_holding(request.message) or kept
            self._link.over(request.message, now, emit)
        shared.settling.held.discard(saved.reply_to)  # (held again while the registry was away)
        save = found.message
        text = save.text if kept and isinstance(save, SaveMessage) else None
        if saved.refused and isinstance(save, SaveMessage):
            emit(Print(not_saved(save, saved.refused, kept=kept), "error"))
        elif saved.refused:
            emit(Print(f"[{saved.refused}]", "error"))
        elif text is None:
            emit(Print(CLIENT_EXISTS.format(saved.to) if saved.delivered else SAVED, "system"))
        else:
            done = "delivered to {}" if saved.delivered else "for {} saved at the server"
            emit(Print(f"[Kept message {done.format(saved.to)}: {quoted(text)}]", "system"))

    def relay_outcome(self, post_id: str, now: float, emit: Emit) -> None:
        """Every other member has post `post_id`, or is gone: it is delivered (and answered,
        should its Ack have been lost)."""
        requests = self._shared.requests
        request = requests.answer_came(post_id)
        if request is not None:  # the outcome overtook the post's Ack
            self.take_as_acked(request.message, now, emit)
            self._link.over(request.message, now, emit)
        if (post := requests.outcome_came(post_id)) is not None:
            # (held again while the registry was away)
            self._shared.settling.stop_holding(post.message)

    def refused(self, message: Message, refusal: Refused, now: float, emit: Emit) -> None:
        if refusal.code in _REPLACED:
            self._leaving.replaced(refusal, emit)
            return
        reason = refusal.reason
        if (
            refusal.code is RefusalCode.NAME_UNKNOWN
            and not isinstance(message, Register)
            and not renames_asked(self._shared.requests)
        ):  # a name the registry released is said as that first
            state = self._shared.state
            if state.life.registered and state.life.started:
                name_released(self._shared, emit)
            reason = f"the registry released the name {state.name}."
        if isinstance(message, Keepalive):
            # the registry gave up on us: come back (RegistryLink.come_back)
            self._link.come_back(now, emit)
            return
        if self._message_refused(message, refusal, reason, now, emit):
            return
        emit(Print(f"[{reason}]", "error"))
        if isinstance(message, Join):
            self._membership.rejoin_refused(message, refusal, now, emit)
        if isinstance(message, Register):
            self._registration_refused(refusal, emit)
        if isinstance(message, Deregister) and message.quitting:
            emit(ExitPeer(0))
        if isinstance(message, SaveMessage | ChannelPost | Leave):
            self._shared.settling.stop_holding(message)

    def _message_refused(
        self, message: Message, refusal: Refused, reason: str, now: float, emit: Emit
    ) -> bool:
        """Say which message the user sent was refused, when `message` is one: True then."""
        shared = self._shared
        if (
            isinstance(message, ChannelPost | RoomPost)
            and shared.requests.accepted(message.id)
            and not (isinstance(message, RoomPost) and self._link.counts_us_offline(refusal.code))
        ):
            self.unconfirmed(message, reason, emit)
            return True
        if isinstance(message, RoomPost):
            self._membership.post_refused(message, refusal, now, emit)
            return True
        if isinstance(message, SaveMessage | ChannelPost) and shared.settling.stop_holding(message):
            # kept in the outbox, refused as it went out: said in full (nothing else has it)
            where = f"for {message.to}" if isinstance(message, SaveMessage) else "to the channel"
            emit(Print(f"[Kept message {where} not delivered: {reason}]", "error"))
            emit(Print(f"[Your message: {message.text}]", "error"))
            return True
        if isinstance(message, SaveMessage):
            emit(Print(not_saved(message, reason, kept=False), "error"))
            return True
        return False

    def _registration_refused(self, refusal: Refused, emit: Emit) -> None:
        """The first registration refused ends this start; a quiet one leaves us offline."""
        shared = self._shared
        state = shared.state
        shared.requests.register_again = False
        if not state.life.started:
            if refusal.code is RefusalCode.NOT_OWNER and state.proof:
                state.password_refused = True  # a wrong password
            if refusal.code is RefusalCode.NOT_OWNER and not state.password_asked_again:
                hint = PASSWORD_HINT_AGAIN if state.proof or state.verifier else PASSWORD_HINT
                emit(Print(hint, "error"))
            self._leaving.never_started(emit)
        elif state.life.registered:  # a quiet re-registration was refused
            shared.go_offline(Event.REFUSED, emit)  # (the registry took us out of the room)
            reg = shared.typed(f"reg {state.name}")
            emit(Print(f"[You are offline. Type {reg} to retry.]"))

    def unconfirmed(self, post: ChannelPost | RoomPost, reason: str, emit: Emit) -> None:
        """`post`, accepted, was asked again for its outcome, refused or left unanswered (a
        registry restarted): whether every member has it is not known. Said; not kept."""
        self._shared.requests.outcome_came(post.id)
        self._shared.settling.stop_holding(post)
        if isinstance(post, RoomPost):
            what = f"everyone in {post.room} had your line"
        else:
            what = "everyone had your message"
        line = f"[Not confirmed that {what} {quoted(post.text)}: {reason.rstrip('.')}.]"
        emit(Print(line, "error"))

    def tick(self, now: float, emit: Emit) -> None:
        """Time passed: what is due goes (RegistryLink), what ran out of tries is given up."""
        for request in self._link.due(now, emit):
            self.failed(request, now, emit, False)
        self._link.tick(now, emit)

    def busy(self, busy: Busy, now: float, emit: Emit) -> None:
        """The registry is too busy for a request (a join storm): it goes again after the
        wait asked, said once; kept waiting BUSY_PATIENCE, it is given up on."""
        wait = max(0.0, busy.wait_ms / 1000)
        request, first = self._shared.requests.busy(busy.reply_to, wait, now)
        if request is not None and request.stage is Stage.GIVEN_UP:
            self.failed(request, now, emit, True)
        elif request is not None and first and not request.quiet:
            emit(Print(f"[The registry is busy; trying again in {wait:.1f} s.]", "system"))

    def _over(self, message: Message, now: float, emit: Emit) -> None:
        """`message` was given up on: so is what was typed behind it, if the registry is away."""
        for request in self._link.over(message, now, emit, gave_up=True):
            self.failed(request, now, emit, False)

    def failed(self, request: RequestRecord, now: float, emit: Emit, busy: bool) -> None:
        """`request` got no answer in its tries (or, `busy`, only Busy for BUSY_PATIENCE)."""
        shared = self._shared
        message = request.message
        shared.requests.round_trip.gave_up()
        if (
            isinstance(message, RoomPost)
            and shared.requests.accepted(message.id)
            and name_key(shared.state.room) != name_key(message.room)
        ):
            # we have left its room since: kept, it would take us back there. What waited
            # behind it goes on.
            self.unconfirmed(message, "the registry does not answer", emit)
            self._went_away(now, emit)
            self._over(message, now, emit)
            return
        if request.noticed:
            # done, as its room's notice said: only the ack was lost
            self.take_as_acked(message, now, emit)
            self._link.over(message, now, emit)
            return
        self._over(message, now, emit)
        kind = KINDS[type(message)]
        if shared.life.started and kind.late_taken:
            # should the registry have done it anyway, its late answer is taken
            shared.requests.keep_given_up(request)
        if not request.quiet and busy:
            emit(Print("[The registry stayed too busy to answer.]", "error"))
        elif not request.quiet:
            emit(Print(SERVER_NOT_RESPONDING, "error"))
        self._what_follows(message, request.quiet, busy, now, emit)

    def _what_follows(
        self, message: Message, quiet: bool, busy: bool, now: float, emit: Emit
    ) -> None:
        """What follows the give-up of `message`: its kind's line (KINDS), and what else."""
        shared, kind = self._shared, KINDS[type(message)]
        if isinstance(message, Register) and not shared.life.started:
            self._never_registered(busy, emit)
        elif kind.outcome and shared.requests.accepted(message.id):
            # accepted already, its outcome asked again: still awaited, not kept anew (the
            # outbox would send it again, and say again that it was received)
            shared.requests.accept(message, now)
            self._went_away(now, emit)
        elif kind.kept:
            self._kept(message, quiet, now, emit)
        elif isinstance(message, Deregister):
            self._leaving.unheard(message, emit)
            emit(Print(kind.given_up, "system"))
            emit(ExitPeer(0))
        elif kind.given_up or isinstance(message, Keepalive | Register):
            if isinstance(message, Join):
                shared.room_return.given_up(message)
            line = kind.given_up.format(name=shared.state.name)
            if isinstance(message, Keepalive) and not shared.requests.down:
                line = SERVER_NOT_RESPONDING
            if line:  # asked for: said every time
                emit(Print(line, "error"))
                shared.requests.rooms_down_said |= line == ROOMS_DOWN
            if not isinstance(message, Register) or not shared.life.registered:
                self._went_away(now, emit, reg=isinstance(message, Register) and not quiet)

    def _went_away(self, now: float, emit: Emit, reg: bool = False) -> None:
        """A request (`reg`: a typed one) was given up on: the registry is away; its key asked."""
        requests = self._shared.requests
        if not requests.down:
            emit(AskRegistryKey())
        requests.went_away(now, started=self._shared.life.started, reg=reg)

    def _never_registered(self, busy: bool, emit: Emit) -> None:
        shared = self._shared
        why = "; try again later" if busy else "; is the registry running?"
        emit(Print(f"[Could not register{why}]", "error"))
        # Said once, unanswered, so that a registration that reached a registry too busy
        # to answer does not leave the name online; as `dereg`, not `/quit`.
        emit(SendSealed(shared.requests.server, shared.deregister_message(), shared.trust.registry))
        if shared.settling.held:
            emit(Print("[Your kept messages stay on disk for the next start.]"))
        self._leaving.never_started(emit)

    def _kept(self, message: Message, quiet: bool, now: float, emit: Emit) -> None:
        """Something the user sent went unanswered: kept in the outbox, said once."""
        shared = self._shared
        requests, settling = shared.requests, shared.settling
        if not quiet and isinstance(message, RoomPost | Leave):
            # once an outage: each line is said kept below
            if not requests.rooms_down_said:
                emit(Print(ROOMS_DOWN, "error"))
            requests.rooms_down_said = True
        if message.id not in settling.held:
            settling.hold(message)  # logged at the end of the event, before it is shown
        if not quiet and not isinstance(message, Leave):
            emit(Print(KEPT_IN_OUTBOX, "system"))
        self._went_away(now, emit)
