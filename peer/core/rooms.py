"""The rooms a peer has heard of, and the lines that show rooms and what is said in them
(docs/GUIDE.md: `Alice (in teamchat): Hello team!`). Sans-IO: lines are
Print actions; whether a line is shown at all is the core's to say (each id once).
"""

from __future__ import annotations

from datetime import datetime

from peer.core.actions import Emit, Print
from wire.messages import RoomList, RoomMessage
from wire.names import name_key
from wire.words import counted


class KnownRooms:
    """The rooms this peer has heard of (joined, listed, or told about), as the registry
    spells them: for tab completion, and to take its spelling over the one typed."""

    def __init__(self) -> None:
        self._rooms_seen: dict[str, str] = {}  # room keys -> names

    def saw(self, room: str) -> None:
        """`room` was heard of, spelled so."""
        self._rooms_seen[name_key(room)] = room

    def spelling(self, room: str) -> str:
        """`room` as last heard of, in any case; as given when never heard of."""
        return self._rooms_seen.get(name_key(room), room)

    def names(self) -> list[str]:
        """The rooms heard of, sorted."""
        return sorted(self._rooms_seen.values(), key=name_key)

    def listed(self, rooms: RoomList, current: str, hint: str, emit: Emit) -> None:
        """The registry's list of `rooms`: from now on the rooms heard of (with `current`,
        the one we are in, or ""), and shown, one a line with its members, or with `hint`
        (the command that makes a room, as typed here) when there are none."""
        self._rooms_seen = {name_key(r): r for r in rooms.rooms}
        if current:
            self.saw(current)
        if not rooms.rooms:
            line = f"[No rooms yet. {hint} makes one.]"
            emit(Print(line, "system"))
            return
        emit(Print("[Rooms:]", "system"))
        width = max(len(r) for r in rooms.rooms)
        for room, count in zip(rooms.rooms, rooms.counts, strict=False):
            people = counted(count, "member")
            here = "  (you are here)" if name_key(room) == name_key(current) else ""
            emit(Print(f"  {room.ljust(width)}  {people}{here}", "info"))


def room_line(message: RoomMessage, wall: float) -> Print:
    """The line of `message`, said in a room: as it is said, or from the room's history
    (marked so, with when it was said; `wall` is the time of day now)."""
    said = f"{message.sender} (in {message.room}): {message.text}"
    if message.text.startswith("/me "):
        said = f"* {message.sender} {message.text[4:]} (in {message.room})"
    if message.history:
        return Print(f"[history {_when(message.stamp, wall)}] {said}", "history", message.sender)
    return Print(said, "room", message.sender)


def _when(stamp: str, wall: float) -> str:
    """A stored message's stamp, shortened to the time of day when it is from today (the
    day of `wall`)."""
    today = datetime.fromtimestamp(wall).strftime("%Y-%m-%d ")
    return stamp[len(today) : len(today) + 5] if stamp.startswith(today) else stamp[:16]
