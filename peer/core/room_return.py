"""The way back to a room (docs/GUIDE.md, "Rooms and
lines that wait"): the room kept on disk, the room joined again for kept lines, and a /join
that waits for them. Sans-IO: the core sends each Join.
"""

from __future__ import annotations

from peer.core.actions import Emit, Keep, Print
from peer.core.settling import Settling
from wire.messages import Join, Leave, Message, RoomPost
from wire.names import name_key

#: The ids of room lines shown since the last join that are remembered, the latest: far
#: more than the history the registry replays after a join.
SHOWN_SINCE_JOIN_KEPT = 200


class RoomReturn:
    """Which room this peer goes back to, and when: the room lines kept in the outbox are said
    there before any other join; `room`, an earlier run's, is gone back to at the Welcome."""

    def __init__(self, settling: Settling, room: str = "") -> None:
        self._settling = settling
        #: The room joined again for kept lines typed in it (`rejoin_for_kept`), until that
        #: join is answered; None when none is. Read-only outside this class.
        self.rejoining: str | None = None
        #: A /join typed meanwhile: it goes once the kept lines typed before it have reached
        #: their room (`join_due`). Read-only outside this class.
        self.join_after_kept: Join | None = None
        # whether `join_after_kept` was sent (`join_due`): it waits for its answer then
        self._join_sent = False
        # whether room history is shown again: after a join the user typed, not after one
        # this peer made to go back
        self._history_again = True
        # the ids of the room lines shown since the last join, the latest
        self._shown_since_join: dict[str, None] = {}
        # the room we were in after the last event (kept on disk: Keep), and the room to
        # go back to at the first Welcome, None once that is done
        self.room_was = ""
        self._back_to: str | None = room

    def shows(self, msg_id: str, first: bool, history: bool) -> bool:
        """Whether room line `msg_id` is shown: the `first` copy to reach this peer, or a
        line of the room's `history` after a join the user typed; never twice for one join."""
        shown = self._shown_since_join
        if msg_id in shown or not (first or (history and self._history_again)):
            return False
        shown[msg_id] = None
        if len(shown) > SHOWN_SINCE_JOIN_KEPT:
            del shown[next(iter(shown))]
        return True

    def typed_join(self, join: Join, emit: Emit) -> bool:
        """The user typed `join`: True when it goes now; False when it waits (said) for the
        lines kept for another room to be said there first (`join_due`)."""
        self._history_again = True  # a join the user typed shows the room's last lines
        self._shown_since_join.clear()
        room = join.room
        kept_in = self.rejoining or self._kept_room()
        if kept_in:
            self.join_after_kept, self._join_sent = join, False
            # what is typed next goes after it (`waits_for_join`)
            self._settling.note_typed(join)
            line = f"[Joining {room} once the lines you typed in {kept_in} are sent.]"
            emit(Print(line, "system"))
            return False
        return True

    def join_due(self) -> Join | None:
        """The /join that waited for kept lines, once the room lines and leaves typed before
        it have reached the registry; None while they have not, once given, or none waits."""
        join = self.join_after_kept
        if join is None or self._join_sent or self.rejoining is not None:
            return None
        typed_at = self._settling.typed_at
        kept = self._settling.outbox
        if any(isinstance(m, RoomPost | Leave) and typed_at(m) < typed_at(join) for m in kept):
            return None
        self._join_sent = True
        return join

    def waits_for_join(self, message: Message) -> bool:
        """Whether kept `message` was typed after the /join that waits for kept lines."""
        join = self.join_after_kept
        typed_at = self._settling.typed_at
        return join is not None and typed_at(message) > typed_at(join)

    def drop_join(self) -> None:
        """Forget the /join waiting for kept lines: this start sends nothing more."""
        self.join_after_kept = None

    def _kept_room(self) -> str:
        """The room of the first room line kept in the outbox; "" when none is kept."""
        return next((m.room for m in self._settling.outbox if isinstance(m, RoomPost)), "")

    def rejoin_for_kept(self, room_now: str, emit: Emit) -> str:
        """The room to join again (said) before sending the lines kept for it, when we are
        not in it (`room_now`: the one we are in); "" when there is none or it is on its way."""
        if room_now or self.rejoining is not None or not (room := self._kept_room()):
            return ""
        self.rejoining = room
        self._history_again = False
        self._shown_since_join.clear()
        line = f"[Joining {room} again to send the lines you typed there.]"
        emit(Print(line, "system"))
        return room

    def go_back_later(self, room: str) -> None:
        """Registered again after the registry took us out of `room`: back to it at the
        Welcome (`go_back`)."""
        self._back_to = room

    def stay_out(self, emit: Emit) -> None:
        """Lines were typed before the Welcome, meant for no room: the room to go back to is
        forgotten (on disk too), and how to go back is said."""
        if self._back_to:
            room, self._back_to = self._back_to, None
            emit(Keep("room", ""))
            line = f"[You were in {room} when you left; /join {room} goes back there.]"
            emit(Print(line, "system"))

    def go_back(self, emit: Emit) -> str:
        """At the Welcome: the room an earlier run was in, to join again, said; "" when there
        is none, or kept lines rejoin their room themselves. Asked once."""
        room, self._back_to = self._back_to, None
        if not room or self.rejoining is not None:
            return ""
        emit(Print(f"[Back to {room}, the room you were in.]", "system"))
        self._history_again = False
        self._shown_since_join.clear()
        return room

    def join_over(self, join: Join) -> bool:
        """`join` was answered, refused or given up on: True when kept lines waited for it
        (the join for kept lines, or the /join that waited for them); no longer waited for."""
        if self.join_after_kept == join:
            self.join_after_kept = None
            self._settling.forget_typed(join.id)
            return True
        if self.rejoining is None or name_key(join.room) != name_key(self.rejoining):
            return False
        self.rejoining = None
        return True

    def given_up(self, join: Join) -> None:
        """`join` went unanswered: the lines typed after the /join that waited for kept lines
        no longer wait for it. A join for kept lines is asked again instead."""
        if self.join_after_kept == join:
            self.join_over(join)

    def keep(self, room: str, quitting: bool, emit: Emit) -> None:
        """After every event: a Keep of the room when `room`, the one we are in, changed;
        `quitting`: the room left on the way out stays kept."""
        if room == self.room_was or (quitting and not room):
            return
        self.room_was = room
        emit(Keep("room", room))
