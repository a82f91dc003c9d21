"""Leaving: a /quit (or the end of input) that waits for what the user sent to be
delivered before the Deregister goes, leaving at once (what is on its way is kept in the
outbox on disk for the next start), a dereg or quit the registry did not answer, and a
start whose name another start took over. Sans-IO: Print, Send and Exit actions; the
phases are peer.core.lifecycle's.
"""

from __future__ import annotations

from peer.core.actions import Action, Emit, Exit, Print, Send
from peer.core.direct import DirectChats
from peer.core.lifecycle import Event, Phase
from peer.core.registry_link import DELIVERED, RegistryLink
from peer.core.shared import Shared
from wire.limits import MAX_FAREWELL
from wire.messages import Deregister, Leave, Message, Refused, RoomPost, RoomsRequest
from wire.refusals import RefusalCode
from wire.words import counted

#: What a quit waits for: what the user sent, and a `rooms` awaiting its answer (the user
#: asked, and a script ending with it would quit unanswered).
_AWAITED = (*DELIVERED, RoomsRequest)


class Leaving:
    """How the peer leaves; the farewell waiting is its lifecycle's."""

    def __init__(self, shared: Shared, link: RegistryLink, direct: DirectChats) -> None:
        self._shared = shared
        self._link = link
        self._direct = direct

    def quit(self, farewell: str, now: float, emit: Emit) -> None:
        """Deregister and exit, but only once what was sent is delivered (acked, or handed
        to the registry, or kept in the outbox when it does not answer): a message typed
        just before quitting must not be dropped with the process. `settle` sends the
        Deregister as soon as nothing is on its way any more."""
        life = self._shared.life
        if not life.registered:
            emit(Exit(0))
            return
        if self._link.sent(Deregister):
            return  # already leaving
        if len(farewell) > MAX_FAREWELL:
            line = (
                f"[A farewell has at most {MAX_FAREWELL} characters; yours has {len(farewell)}. "
                "Not quitting.]"
            )
            emit(Print(line, "error"))
            return
        if life.farewell is None and self.delivering():
            line = "[Quitting once what you sent is delivered; Ctrl-C quits at once.]"
            emit(Print(line, "system"))
        life.fire(Event.QUIT, farewell)

    def settle(self, now: float, emit: Emit) -> None:
        """After every event: a quit waiting, once nothing is on its way any more, sends
        its Deregister (or, the registration lost meanwhile, exits)."""
        life = self._shared.life
        if life.farewell is None or self.delivering():
            return
        farewell = life.farewell
        life.fire(Event.DELIVERED)
        if not life.registered:
            emit(Exit(0))
            return
        state = self._shared.state
        message = Deregister(self._shared.new_id(), state.name, state.token, True, farewell)
        self._link.request(message, now, emit)

    def deregistered(self, dereg: Deregister, reply: Message, now: float, emit: Emit) -> None:
        """The registry answered our `dereg` (typed, or the quit's): offline, out of the
        room (kept for the next start after a quit), and gone after a quit."""
        shared = self._shared
        state = shared.state
        state.life.fire(Event.DEREGISTERED)
        shared.watch.offline()
        if state.room and dereg.quitting:  # its room file is kept
            line = f"[You left {state.room}; your next start goes back to it.]"
            emit(Print(line, "system"))
            state.room = ""
        elif state.room:
            emit(Print(f"[You left {state.room}.]", "system"))
            state.room = ""
        emit(Print("[You are Offline. Bye.]", "system"))
        if dereg.quitting:
            emit(Exit(0))

    def delivering(self) -> bool:
        """Whether a message the user sent is still on its way: a direct one awaiting its
        ack or held behind a long one, or one for the registry (a save, a channel or room
        line, a leave) awaiting its answer or held, or a save awaiting its outcome (until
        the registry says it is on disk or delivered, a crash of the registry could still
        lose it, and this peer would send it again). Outbox retries do not count: what the
        registry did not take is kept on disk for the next start. A `rooms` awaiting its
        answer counts too."""
        if self._direct.waiting():
            return True
        return bool(self._shared.requests.undelivered(_AWAITED, loud=True))

    def leave_now(self) -> list[Action]:
        """The user leaves at once: see PeerCore.leave_now."""
        shared = self._shared
        state, life = shared.state, shared.life
        registered, farewell = life.registered, life.farewell or ""
        life.fire(Event.LEAVE_NOW)
        actions: list[Action] = []
        emit = actions.append
        shared.lines.drop(emit)  # typed after a change that was still on its way
        undelivered = self.undelivered()
        shared.outbox.keep(emit, undelivered)
        if undelivered:
            kept = counted(len(undelivered), "message")
            line = f"[{kept} not yet delivered kept; sent at your next start.]"
            emit(Print(line, "system"))
        if registered:
            shared.inbox.send_held(emit)  # what came before it is acked first
            dereg = Deregister(shared.new_id(), state.name, state.token, True, farewell)
            emit(Send(shared.server, dereg, shared.trust.registry))
        return actions

    def undelivered(self) -> tuple[Message, ...]:
        """The outbox, then everything else sent and not known delivered, roughly in the
        order typed, each once: direct messages as the saves they would become."""
        outbox = self._shared.outbox
        found: dict[str, Message] = {m.id: m for m in outbox}
        for message in (
            *outbox.unanswered.values(),
            *self._direct.undelivered(),
            *self._shared.requests.undelivered(DELIVERED),
        ):
            found.setdefault(message.id, message)
        return tuple(sorted(found.values(), key=outbox.settling.typed_at))

    def unheard(self, dereg: Deregister, emit: Emit) -> None:
        """A `dereg` or quit the registry did not answer: the peer exits all the same (the
        user wanted to leave). Say what the next start finds, as nothing else will: the
        messages kept in the outbox (sent then), and for a `dereg` that the room is left
        (the registry takes this peer out of it once it finds it gone; the next start does
        not go back, as after a `dereg` it heard). Room lines kept for that room are still
        said there at the next start, then a kept `leave` takes it out again, as typed."""
        shared = self._shared
        state, outbox = shared.state, shared.outbox
        room = state.room
        if room and not dereg.quitting:
            if any(isinstance(m, RoomPost) for m in outbox) and not any(
                isinstance(m, Leave) for m in outbox
            ):
                outbox.add(Leave(shared.new_id(), state.name, state.token))
            state.room = ""  # kept at the end of the event: the next start is in no room
            emit(Print(f"[You left {room}; your next start is in no room.]", "system"))
        elif room:
            emit(Print(f"[You left {room}; your next start goes back to it.]", "system"))
        kept = self.undelivered()
        outbox.replace(kept)  # all of it kept on disk, at the end of the event
        said = [m for m in kept if not isinstance(m, Leave)]  # a leave is no message
        if said:
            count = counted(len(said), "message")
            where = " (room lines included)" if any(isinstance(m, RoomPost) for m in kept) else ""
            line = f"[{count} kept in your outbox{where}; sent at your next start.]"
            emit(Print(line, "system"))

    def never_started(self, emit: Emit) -> None:
        """The first registration failed and the peer exits: say which typed lines were
        not carried out, so that nothing typed is lost in silence."""
        self._shared.life.fire(Event.START_FAILED)
        self._shared.lines.drop_early(emit)
        emit(Exit(1))

    def replaced(self, refusal: Refused, emit: Emit) -> None:
        """Another start of this peer took its name over while this one was stopped (kill
        -STOP, a laptop asleep): everything for the name goes there now. Say so, keep what
        this start sent and is not known delivered in the outbox on disk (sent by the next
        start with this data directory), send nothing more, and exit 1. No Deregister: the
        name is the other start's, which would be taken offline by it."""
        shared = self._shared
        state, life = shared.state, shared.life
        if life.phase is Phase.REPLACED:
            return  # said already (several requests may be refused in one datagram)
        life.fire(Event.REPLACED)  # a quit waiting: its Deregister would reach the other start
        shared.lines.drop()
        shared.room_return.drop_join()
        shared.watch.offline()
        # gone offline since, the other start no longer holds the name: this one's token
        # (the data directory's) takes it back at its next start
        back = (
            ""
            if refusal.code is RefusalCode.REPLACED
            else "; start ChatApp again to take the name back"
        )
        line = f"[{refusal.reason} This start stops: it no longer sends as {state.name}{back}.]"
        emit(Print(line, "error"))
        undelivered = self.undelivered()
        # all of it as the outbox, so that what is kept after this event is it
        shared.outbox.replace(undelivered)
        shared.outbox.keep(emit)
        if undelivered:
            count = counted(len(undelivered), "message")
            line = (
                f"[{count} not yet delivered kept in this data directory; sent at its next start.]"
            )
            emit(Print(line, "system"))
        emit(Exit(1))
