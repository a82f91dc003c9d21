"""The registry core and its rooms' history on disk: each line said is kept (KeepHistory),
an emptied room's is kept for when the room is made again, only the oldest beyond
KEPT_EMPTIED is forgotten (DropHistory), and a restarted core replays what it read back to
whoever joins, as the old one would have."""

from __future__ import annotations

from registry import actions as ra
from registry.rooms import KEPT_EMPTIED
from registry.table import Table
from tests.registry.core_helpers import T0, X, Y, core, in_room, register, sends
from wire.messages import Join, Leave, RoomMessage, RoomNotice, RoomPost


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


def test_an_emptied_room_made_again_replays_its_history() -> None:
    reg = core()
    tokens = in_room(reg, "Lobby", ("x", X), ("y", Y))
    reg.receive(RoomPost("x-1", "x", tokens["x"], "lobby", "one"), X, T0 + 1)
    assert kept(reg.receive(Leave("x-l", "x", tokens["x"]), X, T0 + 2)) == []
    assert kept(reg.receive(Leave("y-l", "y", tokens["y"]), Y, T0 + 3)) == []
    assert reg.rooms.get("lobby") is None  # gone: it counts towards no limit
    # in the morning, made again as LOBBY
    out = reg.receive(Join("x-j2", "x", tokens["x"], "LOBBY"), X, T0 + 4)
    to_x = [m for a, m in sends(out) if a == X and isinstance(m, RoomNotice | RoomMessage)]
    assert [m.text for m in to_x] == ["You joined LOBBY (nobody else is in it)", "one"]
    assert isinstance(to_x[1], RoomMessage) and to_x[1].history and to_x[1].room == "LOBBY"


def test_the_history_emptied_longest_ago_is_forgotten_beyond_kept_emptied() -> None:
    reg = core()
    token = register(reg, "x", X).token
    dropped = []
    for i in range(KEPT_EMPTIED + 1):
        reg.receive(Join(f"j{i}", "x", token, f"room{i}"), X, T0 + i)
        out = reg.receive(RoomPost(f"p{i}", "x", token, f"room{i}", "hi"), X, T0 + i)
        dropped += [a for a in kept(out) if isinstance(a, ra.DropHistory)]
    out = reg.receive(Leave("l", "x", token), X, T0 + KEPT_EMPTIED + 1)
    # each join left the room before, emptying it: the first emptied is the one forgotten
    assert dropped + kept(out) == [ra.DropHistory("room0")]


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


def test_the_history_of_a_room_nobody_is_in_is_kept_at_the_start() -> None:
    old = RoomMessage("x-1", "x", "attic", "one", "2026-11-22 10:00:00", False)
    reg = core(histories={"attic": (old,)})  # nobody is in attic in the table
    assert kept(reg.start(T0)) == []
    assert reg.rooms.get("attic") is None
    token = register(reg, "y", Y).token
    out = reg.receive(Join("y-j", "y", token, "attic"), Y, T0 + 1)
    assert [m.text for a, m in sends(out) if isinstance(m, RoomMessage)] == ["one"]


def test_at_the_start_the_histories_said_in_longest_ago_are_forgotten_beyond_kept_emptied() -> None:
    def said_at(room: str, stamp: str) -> tuple[RoomMessage]:
        return (RoomMessage(f"x-{room}", "x", room, "hi", stamp, False),)

    histories = {f"r{i}": said_at(f"r{i}", f"2026-11-22 10:{i:03}") for i in range(KEPT_EMPTIED)}
    histories["r0"] = said_at("r0", "2026-11-23 09:00:00")
    histories["late"] = said_at("late", "2026-11-23 08:00:00")
    reg = core(histories=histories)
    assert kept(reg.start(T0)) == [ra.DropHistory("r1")]  # r0 was said in since
