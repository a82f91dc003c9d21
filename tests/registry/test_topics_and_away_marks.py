"""A room's topic (SetTopic) and a peer's away mark (SetAway) in the registry's core."""

from __future__ import annotations

import pytest

from registry.core import actions as ra
from registry.core.dispatch import RegistryCore
from registry.core.rooms import ROOM_HISTORY, Room
from tests.registry.core_helpers import (
    T0,
    X,
    Y,
    Z,
    acked,
    core,
    in_room,
    register,
    run_until,
    sends,
)
from wire.messages import (
    NO_REASON,
    Ack,
    Deregister,
    Join,
    Refused,
    RoomList,
    RoomMessage,
    RoomNotice,
    RoomsRequest,
    SetAway,
    SetTopic,
    TableUpdate,
)

pytestmark = pytest.mark.timeout(10)


def notices(out: list[ra.Action]) -> list[tuple[tuple[str, int], str]]:
    return [(addr, m.text) for addr, m in sends(out) if isinstance(m, RoomNotice)]


def test_a_topic_is_said_to_the_others_kept_listed_and_told_to_each_who_joins() -> None:
    reg = core()
    tokens = in_room(reg, "lobby", ("x", X), ("y", Y))
    out = reg.receive(SetTopic("t-1", "x", tokens["x"], "LOBBY", " Friday   release "), X, T0)
    assert any(isinstance(m, Ack) and m.reply_to == "t-1" for _, m in sends(out))
    assert notices(out) == [(Y, "x set the topic of lobby: Friday release")]
    kept = [a for a in out if isinstance(a, ra.KeepHistory)]
    assert kept[-1].history[-1].topic and kept[-1].history[-1].text == "Friday release"
    acked(reg, out, T0)
    listed = [m for _, m in sends(reg.receive(RoomsRequest("r-1"), X, T0))]
    assert isinstance(listed[0], RoomList) and listed[0].topics == ("Friday release",)
    z = register(reg, "z", Z)
    out = reg.receive(Join("z-j", "z", z.token, "lobby"), Z, T0)
    assert (Z, "Topic of lobby: Friday release") in notices(out)


def test_a_topic_is_refused_outside_the_room_and_empty() -> None:
    reg = core()
    tokens = in_room(reg, "lobby", ("x", X))
    for topic in (
        SetTopic("t-1", "x", tokens["x"], "other", "hi"),
        SetTopic("t-2", "x", tokens["x"], "lobby", " "),
    ):
        out = reg.receive(topic, X, T0)
        assert [type(m) for _, m in sends(out)] == [Refused]


def test_a_room_reads_its_topic_back_from_its_history_past_its_last_lines() -> None:
    room = Room("lobby")
    topic = RoomMessage("t-1", "x", "lobby", "Friday", "2026-01-01 10:00:00", True, topic=True)
    lines = [RoomMessage(f"m-{i}", "x", "lobby", "hi", "", True) for i in range(ROOM_HISTORY + 5)]
    room.read_back([topic, *lines])
    assert room.topic == topic and list(room.history) == lines[-ROOM_HISTORY:]
    assert room.kept()[0] == topic and room.kept(topic_new=True)[-1] == topic


def test_away_changes_the_row_for_everyone_until_back_or_offline() -> None:
    reg = core()
    x, y = register(reg, "x", X), register(reg, "y", Y)
    acked(reg, [], T0)
    out = reg.receive(SetAway("a-1", "x", x.token, "lunch"), X, T0 + 1)
    out += run_until(reg, T0 + 2)
    rows = [e for _, m in sends(out) if isinstance(m, TableUpdate) for e in m.entries]
    assert any(e.name == "x" and e.away == "lunch" for e in rows)
    assert away(reg, "x") == "lunch"
    reg.receive(SetAway("a-2", "x", x.token, ""), X, T0 + 3)
    assert away(reg, "x") == ""
    # the log says what a reader needs: a mark without a reason is not "away: away"
    out = reg.receive(SetAway("a-5", "x", x.token, NO_REASON), X, T0 + 3)
    out += reg.receive(SetAway("a-6", "x", x.token, ""), X, T0 + 3)
    logged = [a.line for a in out if isinstance(a, ra.Log)]
    assert [line for line in logged if "is " in line] == ["x is away", "x is back"]
    long = SetAway("a-3", "y", y.token, "x" * 1000)
    assert [type(m) for _, m in sends(reg.receive(long, Y, T0 + 4))] == [Refused]
    reg.receive(SetAway("a-4", "y", y.token, "gone"), Y, T0 + 5)
    assert away(reg, "y") == "gone"
    reg.receive(Deregister("y-d1", "y", y.token, False, ""), Y, T0 + 6)
    assert away(reg, "y") == ""  # offline: no longer away


def away(reg: RegistryCore, name: str) -> str:
    record = reg.table.get(name)
    assert record is not None
    return record.away
