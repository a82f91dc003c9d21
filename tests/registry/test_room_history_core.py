"""The registry core and its rooms' history on disk: each line said is kept (KeepHistory),
a room gone is forgotten (DropHistory), and a restarted core replays what it read back to
whoever joins, as the old one would have."""

from __future__ import annotations

from registry import actions as ra
from registry.table import Table
from tests.registry.core_helpers import T0, X, Y, core, in_room, register, sends
from wire.messages import Join, Leave, RoomMessage, RoomPost


def kept(actions: list[ra.Action]) -> list[ra.KeepHistory | ra.DropHistory]:
    return [a for a in actions if isinstance(a, ra.KeepHistory | ra.DropHistory)]


def test_each_line_said_is_kept_with_the_rooms_history() -> None:
    reg = core()
    tokens = in_room(reg, "Lobby", ("x", X), ("y", Y))
    reg.receive(RoomPost("x-1", "x", tokens["x"], "lobby", "one"), X, T0 + 1)
    out = reg.receive(RoomPost("y-1", "y", tokens["y"], "lobby", "two"), Y, T0 + 2)
    [keep] = kept(out)
    assert isinstance(keep, ra.KeepHistory) and keep.room == "lobby"
    assert [m.text for m in keep.history] == ["one", "two"]
    # a copy of a post (its ack was lost) is not kept twice
    assert kept(reg.receive(RoomPost("y-1", "y", tokens["y"], "lobby", "two"), Y, T0 + 3)) == []


def test_the_last_member_leaving_forgets_the_history() -> None:
    reg = core()
    tokens = in_room(reg, "Lobby", ("x", X), ("y", Y))
    reg.receive(RoomPost("x-1", "x", tokens["x"], "lobby", "one"), X, T0 + 1)
    assert kept(reg.receive(Leave("x-l", "x", tokens["x"]), X, T0 + 2)) == []
    assert kept(reg.receive(Leave("y-l", "y", tokens["y"]), Y, T0 + 3)) == [ra.DropHistory("lobby")]


def test_a_restarted_core_replays_the_history_it_read_back_to_a_newcomer() -> None:
    reg = core()
    tokens = in_room(reg, "Lobby", ("x", X))
    out = reg.receive(RoomPost("x-1", "x", tokens["x"], "lobby", "one"), X, T0 + 1)
    [keep] = kept(out)
    assert isinstance(keep, ra.KeepHistory)
    again = core(
        table=Table.from_json(reg.table.to_json(), T0 + 2), histories={"lobby": keep.history}
    )
    again.start(T0 + 2)
    wy = register(again, "y", Y)
    out = again.receive(Join("y-j", "y", wy.token, "lobby"), Y, T0 + 3)
    replayed = [m for a, m in sends(out) if a == Y and isinstance(m, RoomMessage)]
    assert [(m.id, m.text, m.history) for m in replayed] == [("x-1", "one", True)]
    # the post asked again (its outcome lost with the old registry) is said again, but
    # the history holds it once
    out = again.receive(RoomPost("x-1", "x", tokens["x"], "lobby", "one"), X, T0 + 4)
    assert kept(out) == []
    assert [m.id for m in again.rooms.get("lobby").history] == ["x-1"]  # type: ignore[union-attr]


def test_the_history_of_a_room_that_is_no_more_is_forgotten_at_the_start() -> None:
    old = RoomMessage("x-1", "x", "attic", "one", "2026-11-22 10:00:00", False)
    reg = core(histories={"attic": (old,)})  # nobody is in attic in the table
    assert kept(reg.start(T0)) == [ra.DropHistory("attic")]
    assert reg.rooms.get("attic") is None
