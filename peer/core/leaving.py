"""Leaving: a /quit that waits for what was sent, leaving at once, a dereg or quit left
unanswered, a start replaced by another. Sans-IO.
"""

from __future__ import annotations

from typing import Final

from peer.core.actions import Action, Emit, ExitPeer, Print, SendSealed
from peer.core.lifecycle import Event, LifePhase
from peer.core.registry_link import RegistryLink
from peer.core.request_kinds import KEPT
from peer.core.shared import Chats, Shared, not_carried_out
from wire.limits import MAX_FAREWELL
from wire.messages import Chat, Deregister, Leave, Message, Refused, RoomPost, RoomsRequest
from wire.refusals import RefusalCode
from wire.words import counted

#: What a quit waits for: what the user sent, and a `rooms` awaiting its answer.
_AWAITED: Final = (*KEPT, RoomsRequest)
OFFLINE_BYE: Final = "[You are Offline. Bye.]"
QUITTING: Final = "[Quitting once what you sent is delivered; Ctrl-C quits at once.]"


class Leaving:
    """How the peer leaves; the farewell waiting is its lifecycle's."""

    def __init__(self, shared: Shared, link: RegistryLink, chats: Chats) -> None:
        self._shared = shared
        self._link = link
        self._direct = chats

    def quit(self, farewell: str, now: float, emit: Emit) -> None:
        """Deregister and exit once what was sent is delivered (acked, handed to the
        registry, or kept in the outbox): `settle` sends the Deregister then."""
        life = self._shared.life
        if not life.registered:
            emit(ExitPeer(0))
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
            emit(Print(QUITTING, "system"))
        life.fire(Event.QUIT, farewell)

    def settle(self, now: float, emit: Emit) -> None:
        """After every event: a quit waiting, once nothing is on its way, sends its
        Deregister (or, no longer registered, exits)."""
        life = self._shared.life
        if life.farewell is None or self.delivering():
            return
        farewell = life.farewell
        life.fire(Event.DELIVERED)
        if not life.registered:
            emit(ExitPeer(0))
            return
        self._link.request(self._shared.deregister_message(farewell), now, emit)

    def deregistered(self, dereg: Deregister, reply: Message, now: float, emit: Emit) -> None:
        """The registry answered our `dereg` (typed, or the quit's): offline, out of the
        room (kept for the next start after a quit), and gone after a quit."""
        # after a quit, its room file is kept
        after = "; your next start goes back to it" if dereg.quitting else ""
        self._shared.go_offline(Event.DEREGISTERED, emit, f"[You left {{}}{after}.]")
        emit(Print(OFFLINE_BYE, "system"))
        if dereg.quitting:
            emit(ExitPeer(0))

    def delivering(self) -> bool:
        """Whether a message the user sent (or a `rooms`) is still on its way: awaiting its
        ack, answer or outcome, or held. Outbox retries do not count (kept on disk)."""
        return bool(self._shared.trust.owed) or bool(self._shared.requests.undelivered(_AWAITED))

    def on_its_way(self, msg_id: str) -> bool:
        """Whether message `msg_id`, sent by this peer, is still between being typed and
        being known delivered (Settling.settle)."""
        return self._direct.awaiting_ack(msg_id) or self._shared.requests.holds(msg_id)

    def leave_now(self) -> list[Action]:
        """The user leaves at once: see PeerCore.leave_now."""
        shared = self._shared
        life = shared.life
        registered, farewell = life.registered, life.farewell or ""
        life.fire(Event.LEAVE_NOW)
        actions: list[Action] = []
        emit = actions.append
        # typed before the first Welcome, or after a change that was still on its way
        for held in (shared.early_lines, shared.lines_after_change):
            not_carried_out(held, "you left at once", emit)
            held.clear()
        self._keep_undelivered("; sent at your next start", emit)
        if registered:
            dereg = shared.deregister_message(farewell)
            emit(SendSealed(shared.requests.server, dereg, shared.trust.registry))
        return actions

    def unfinished(self) -> list[str]:
        """What a quit now would leave undone, a phrase each (none: nothing): the lines
        typed before the first Welcome (a registry that never answers leaves them undone),
        and the messages in the outbox, kept for the next start. (Lines typed that wait
        for a change are carried out before a quit; what is on its way, delivered.)"""
        early = sum(1 for text in self._shared.early_lines if text is not None and text.strip())
        kept = len(self._shared.settling.outbox)
        said = [f"{counted(early, 'line')} typed {_wait(early)} for the registry"] if early else []
        return said + ([f"{counted(kept, 'message')} {_wait(kept)} in your outbox"] if kept else [])

    def undelivered(self) -> tuple[Message, ...]:
        """Everything sent and not known delivered, in the order typed, each once: direct
        messages as the saves they would become."""
        shared = self._shared
        unsettled = shared.settling.unsettled.values()  # held leaves included
        return tuple(self._direct.save_of(m) if isinstance(m, Chat) else m for m in unsettled)

    def _keep_undelivered(self, where: str, emit: Emit) -> None:
        """Hold all not known delivered as the outbox, and say how many are kept, and `where`."""
        undelivered = self.undelivered()
        self._shared.settling.hold(*undelivered)
        if undelivered:
            count = counted(len(undelivered), "message")
            emit(Print(f"[{count} not yet delivered kept{where}.]", "system"))

    def unheard(self, dereg: Deregister, emit: Emit) -> None:
        """A `dereg` or quit left unanswered: the peer exits all the same, saying what the
        next start finds (after a `dereg`, no room: a kept `leave` follows its lines)."""
        shared = self._shared
        state, settling = shared.state, shared.settling
        room = state.room
        if room and not dereg.quitting:
            kinds = {type(m) for m in settling.outbox}
            if RoomPost in kinds and Leave not in kinds:
                settling.hold(Leave(shared.new_id(), state.name, state.token))
            state.room = ""  # kept at the end of the event: the next start is in no room
            emit(Print(f"[You left {room}; your next start is in no room.]", "system"))
        elif room:
            emit(Print(f"[You left {room}; your next start goes back to it.]", "system"))
        kept = self.undelivered()
        settling.hold(*kept)  # all of it kept on disk, at the end of the event
        said = [m for m in kept if not isinstance(m, Leave)]  # a leave is no message
        if said:
            count = counted(len(said), "message")
            where = " (room lines included)" if any(isinstance(m, RoomPost) for m in kept) else ""
            line = f"[{count} kept in your outbox{where}; sent at your next start.]"
            emit(Print(line, "system"))

    def never_started(self, emit: Emit) -> None:
        """The first registration failed and the peer exits, saying which typed lines were
        not carried out."""
        self._shared.life.fire(Event.START_FAILED)
        early = self._shared.early_lines
        not_carried_out(early, "you are not registered", emit)
        early.clear()
        emit(ExitPeer(1))

    def replaced(self, refusal: Refused, emit: Emit) -> None:
        """Another start took this peer's name over (a laptop asleep): said, what is not
        known delivered kept, nothing more sent (a Deregister would take the other start
        offline), exit 1."""
        shared = self._shared
        state, life = shared.state, shared.life
        if life.phase is LifePhase.REPLACED:
            return  # said already (several requests may be refused in one datagram)
        life.fire(Event.REPLACED)  # a quit waiting: its Deregister would reach the other start
        shared.lines_after_change.clear()
        shared.room_return.drop_join()
        shared.requests.offline()
        # REPLACED_GONE: the other start is offline, and this token takes the name back
        back = "; start ChatApp again to take the name back"
        if refusal.code is RefusalCode.REPLACED:
            back = ""
        line = f"[{refusal.reason} This start stops: it no longer sends as {state.name}{back}.]"
        emit(Print(line, "error"))
        self._keep_undelivered(" in this data directory; sent at its next start", emit)
        emit(ExitPeer(1))


def _wait(count: int) -> str:
    return "waits" if count == 1 else "wait"
