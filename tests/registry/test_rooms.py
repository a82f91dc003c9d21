"""The registry's rooms as data: entering, leaving, rebuilding them after a restart, and
the histories of emptied rooms kept for when they are made again."""

from __future__ import annotations

from registry.core.rooms import KEPT_EMPTIED, MAX_ROOMS, ROOM_HISTORY, Rooms
from registry.core.table import Record
from wire.messages import RoomMessage


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


def said(text: str, room: str = "r") -> RoomMessage:
    return RoomMessage(f"id-{text}", "x", room, text, "2026-11-22 10:00:00", False)


def test_an_emptied_room_made_again_has_its_history() -> None:
    x, y = record("x", "r"), record("y", "r")
    rooms = Rooms.restore([x, y])
    rooms.get("r").history.extend([said("one"), said("two")])  # type: ignore[union-attr]
    rooms.leave(x)
    rooms.leave(y)
    assert rooms.get("r") is None and rooms.listing() == []
    again = rooms.enter(y, "R")
    assert again.name == "R" and [m.text for m in again.history] == ["one", "two"]
    assert rooms.emptied == {} and rooms.forgotten() == []


def test_an_emptied_room_without_history_keeps_nothing() -> None:
    x = record("x", "r")
    rooms = Rooms.restore([x])
    rooms.leave(x)
    assert rooms.emptied == {}


def test_beyond_kept_emptied_the_history_emptied_longest_ago_is_forgotten() -> None:
    rooms = Rooms()
    for i in range(KEPT_EMPTIED + 2):
        rooms.set_aside(f"r{i}", [said(str(i), f"r{i}")])
    assert rooms.forgotten() == ["r0", "r1"]
    assert rooms.forgotten() == []  # said once
    assert len(rooms.emptied) == KEPT_EMPTIED and "r2" in rooms.emptied
    # set aside again, a history counts as emptied last
    rooms.set_aside("r2", [said("again", "r2")])
    rooms.set_aside("extra", [said("x", "extra")])
    assert rooms.forgotten() == ["r3"]


def test_a_history_set_aside_keeps_its_last_lines() -> None:
    rooms = Rooms()
    rooms.set_aside("r", [said(str(i)) for i in range(ROOM_HISTORY + 5)])
    kept = rooms.emptied["r"].history
    assert [m.text for m in kept] == [str(i) for i in range(5, ROOM_HISTORY + 5)]


def test_missed_counts_the_lines_said_since_a_member_left_once() -> None:
    x, y = record("x", "r"), record("y", "r")
    rooms = Rooms.restore([x, y])
    r = rooms.get("r")
    assert r is not None
    r.keep(said("before"))
    rooms.leave(x)
    for i in range(3):
        r.keep(said(str(i)))
    assert rooms.missed(x, rooms.enter(x, "r")) == 3
    assert rooms.missed(x, r) == 0  # asked once per entry
    assert rooms.missed(y, r) == 0  # never away


def test_missed_counts_across_an_emptied_room_made_again_but_not_another_room() -> None:
    x, y = record("x", "r"), record("y", "r")
    rooms = Rooms.restore([x, y])
    rooms.leave(x)
    rooms.get("r").keep(said("while x was away"))  # type: ignore[union-attr]
    rooms.leave(y)  # emptied: set aside with its count
    assert rooms.missed(x, rooms.enter(x, "R")) == 1
    rooms.leave(x)
    rooms.enter(x, "elsewhere")
    assert rooms.missed(x, rooms.enter(y, "r")) == 0
