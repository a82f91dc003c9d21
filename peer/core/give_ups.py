"""What a request the registry never answered means (all its tries, wire.reliable's rule, went
unanswered, or it stayed busy too long): said once, and what the user sent is kept in
the outbox for when the registry answers again. Sans-IO: Print, Send and Exit actions.
"""

from __future__ import annotations

from peer.core.actions import Emit, Exit, Print, Send
from peer.core.answers import Answers
from peer.core.leaving import Leaving
from peer.core.refusals import Refusals
from peer.core.registry_link import DELIVERED, RegistryLink
from peer.core.requests import Request
from peer.core.shared import Shared
from wire.messages import (
    ChannelPost,
    Deregister,
    Join,
    Keepalive,
    Leave,
    Message,
    Register,
    Rename,
    RoomPost,
    RoomsRequest,
)
from wire.names import name_key

#: What a peer whose registry does not answer says about rooms.
ROOMS_DOWN = (
    "[Rooms are unavailable while the registry does not answer; direct messages still work.]"
)


class GiveUps:
    """The requests given up on (no state of its own: the outbox and the registry watch
    keep what follows)."""

    def __init__(
        self,
        shared: Shared,
        link: RegistryLink,
        answers: Answers,
        refusals: Refusals,
        leaving: Leaving,
    ) -> None:
        self._shared = shared
        self._link = link
        self._answers = answers
        self._refusals = refusals
        self._leaving = leaving

    def failed(self, request: Request, now: float, emit: Emit, busy: bool) -> None:
        """`request` got no answer in its tries (or, `busy`, only Busy for BUSY_PATIENCE)."""
        shared = self._shared
        message = request.message
        shared.requests.round_trip.gave_up()
        if (
            isinstance(message, RoomPost)
            and shared.requests.accepted(message.id)
            and name_key(shared.state.room) != name_key(message.room)
        ):
            # Asked again for its outcome, unanswered, and we have left its room since:
            # kept, it would take us back there to be said (see RoomReturn). Over all the
            # same: what waited behind it (kept lines, a /leave) goes on.
            self._refusals.unconfirmed(message, "the registry does not answer", emit)
            self._link.went_away(now, emit)
            self._link.over(message, now, emit, gave_up=True)
            return
        if self._answers.noticed(message.id):
            # done, as its room's notice said: only the ack was lost
            self._answers.take_as_acked(message, now, emit)
            self._link.over(message, now, emit)
            return
        self._link.over(message, now, emit, gave_up=True)
        if shared.life.started and isinstance(message, Register | Join | Rename):
            # said to have failed; should the registry have done it anyway, its late
            # answer is taken (see Answers.answer)
            shared.requests.give_up(message)
        if not request.quiet and busy:
            emit(Print("[The registry stayed too busy to answer.]", "error"))
        elif not request.quiet:
            dot = "." if isinstance(message, ChannelPost) else ""
            emit(Print(f"[Server not responding{dot}]", "error"))
        self._what_follows(message, request.quiet, busy, now, emit)

    def _what_follows(
        self, message: Message, quiet: bool, busy: bool, now: float, emit: Emit
    ) -> None:
        """What follows the give-up of `message`, by its kind."""
        match message:
            case Register() if not self._shared.life.started:
                self._never_registered(busy, emit)
            case Deregister():
                self._leaving.unheard(message, emit)
                emit(Print("[Exiting]", "system"))
                emit(Exit(0))
            case _ if isinstance(message, DELIVERED):
                self._kept(message, quiet, now, emit)
            case Join() | RoomsRequest():
                if isinstance(message, Join):
                    self._shared.room_return.given_up(message)
                emit(Print(ROOMS_DOWN, "error"))  # asked for: said every time
                self._shared.watch.rooms_down_said = True
                self._link.went_away(now, emit)
            case Rename():
                line = f"[Renames need the registry; you are still {self._shared.state.name}.]"
                emit(Print(line, "error"))
                self._link.went_away(now, emit)
            case Keepalive():
                if not self._shared.watch.down:
                    emit(Print("[Server not responding]", "error"))
                self._link.went_away(now, emit)
            case _:
                pass

    def _never_registered(self, busy: bool, emit: Emit) -> None:
        """The first registration went unanswered: the peer exits."""
        shared = self._shared
        why = "; try again later" if busy else "; is the registry running?"
        emit(Print(f"[Could not register{why}]", "error"))
        # Said once, unanswered: should the registration have reached a registry too
        # busy to answer in time, the name does not stay online without us.
        name, token = shared.state.name, shared.state.token
        # As `dereg`, not `/quit`: nobody is told that a peer never seen has quit.
        dereg = Deregister(shared.new_id(), name, token, False, "")
        emit(Send(shared.server, dereg, shared.trust.registry))
        if shared.outbox or shared.outbox.unanswered:
            emit(Print("[Your kept messages stay on disk for the next start.]"))
        self._leaving.never_started(emit)

    def _kept(self, message: Message, quiet: bool, now: float, emit: Emit) -> None:
        """Something the user sent went unanswered: kept in the outbox, said once."""
        shared = self._shared
        watch, outbox = shared.watch, shared.outbox
        if not quiet and isinstance(message, RoomPost | Leave):
            # once an outage: a burst of lines typed in a room fails line by line,
            # and each is said kept below
            if not watch.rooms_down_said:
                emit(Print(ROOMS_DOWN, "error"))
            watch.rooms_down_said = True
        outbox.unanswered.pop(message.id, None)  # kept as an outbox entry from now
        if message not in outbox:
            outbox.add(message)
            outbox.keep(emit)  # on disk before we say it is kept
        if not quiet and not isinstance(message, Leave):
            emit(Print("[Kept in your outbox; sent when the server answers.]", "system"))
        self._link.went_away(now, emit)
