"""The registry's rooms as data: entering, leaving, and rebuilding them after a restart."""

from __future__ import annotations

from registry.rooms import MAX_ROOMS, Rooms
from registry.table import Record


def record(name: str, room: str = "") -> Record:
    return Record(name, "127.0.0.1", 6000, True, "t", room=room)


def test_restore_rebuilds_rooms_from_the_records_in_their_order() -> None:
    x, y, z = record("x", "Lobby"), record("y"), record("z", "lobby")
    rooms = Rooms.restore([x, y, z])
    lobby = rooms.get("LOBBY")
    assert lobby is not None and lobby.name == "Lobby"
    assert [m.name for m in lobby.members] == ["x", "z"]
    assert z.room == "Lobby"  # spelled as the room is
    assert rooms.listing() == [("Lobby", 2)]


def test_restore_never_makes_more_than_max_rooms() -> None:
    records = [record(f"p{i}", f"room-{i}") for i in range(MAX_ROOMS + 3)]
    rooms = Rooms.restore(records)
    assert len(rooms.rooms) == MAX_ROOMS
    assert [r.room for r in records[MAX_ROOMS:]] == ["", "", ""]


def test_the_last_to_leave_removes_the_room() -> None:
    x, y = record("x", "r"), record("y", "r")
    rooms = Rooms.restore([x, y])
    assert rooms.leave(x) is not None and x.room == ""
    assert rooms.leave(y) is not None
    assert rooms.get("r") is None and rooms.leave(y) is None
