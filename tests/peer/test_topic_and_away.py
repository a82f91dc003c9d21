"""/topic and /away in the peer's core: what each sends, and what its answer shows."""

from __future__ import annotations

import pytest

from peer.core import actions as pa
from peer.core.dispatch import PeerCore
from peer.core.room_membership import NOT_IN_A_ROOM, Membership
from tests.peer.parts_kit import (
    BOB,
    ME,
    REGISTRY_KEY,
    SERVER,
    T0,
    commands,
    link,
    prints,
    sent,
    shared,
)
from wire.messages import Ack, Entry, RoomList, RoomsRequest, SetAway, SetTopic, Welcome

pytestmark = pytest.mark.timeout(10)


def test_a_topic_typed_in_a_room_is_asked_and_said_set() -> None:
    made, out = shared(), list[pa.Action]()
    made.state.room = "lobby"
    rooms = Membership(made, link(made))
    rooms.topic("x" * 201, T0, out.append)
    assert prints(out) == ["[A topic is at most 200 characters.]"] and sent(out) == []
    out.clear()
    rooms.topic("Friday  release", T0, out.append)
    topic = SetTopic("a-1", "alice", "tok", "lobby", "Friday  release")
    assert sent(out) == [topic]
    rooms.topic_set(topic, Ack("r-1", "a-1"), T0, out.append)
    assert prints(out) == ["[You set the topic of lobby: Friday release]"]


def test_topic_alone_asks_the_rooms_and_shows_ours_and_rooms_shows_each() -> None:
    made, out = shared(), list[pa.Action]()
    rooms = Membership(made, link(made))
    rooms.topic("", T0, out.append)
    assert out == [NOT_IN_A_ROOM]
    made.state.room, out = "lobby", []
    rooms.topic("", T0, out.append)
    assert sent(out) == [RoomsRequest("a-1")]
    listed = RoomList("r-1", "a-1", ("lobby", "quiet"), (2, 1), ("Friday release", ""))
    rooms.rooms_answered(RoomsRequest("a-1"), listed, T0, out.append)
    assert prints(out) == ["[Topic of lobby: Friday release]"]
    out.clear()
    rooms.rooms_answered(RoomsRequest("a-2"), listed, T0, out.append)  # a `rooms`
    assert prints(out)[1:] == [
        "  lobby  2 members  (you are here)  - Friday release",
        "  quiet  1 member",
    ]


def test_away_is_asked_and_typing_again_comes_back_but_not_a_blank_or_away_again() -> None:
    made, out = shared(), list[pa.Action]()
    typed, watchers = commands(made), made.line_watchers
    typed.away_from("x" * 201, T0, out.append)
    typed.away_from("", T0, out.append)  # no reason
    away = SetAway("a-1", "alice", "tok", "away")
    assert sent(out) == [away] and typed.away == "" and not watchers  # until it is answered
    typed.away_answered(away, Ack("r-1", "a-1"), T0, out.append)
    assert typed.away == "away" and len(watchers) == 1
    for line in ("", "/away lunch", "/back"):
        watchers.pop()(line, T0, out.append)  # the line itself does what it says
        assert len(sent(out)) == 1 and watchers
    watchers.pop()("send bob hi", T0, out.append)
    back = SetAway("a-2", "alice", "tok", "")
    assert sent(out)[-1] == back and not watchers
    typed.away_answered(back, Ack("r-2", "a-2"), T0, out.append)
    typed.back("", T0, out.append)
    assert prints(out) == [
        "[Say why you are away in 200 characters at most.]",
        "[You are marked away.]",
        "[You are back.]",
        "[You are not marked away.]",
    ]


@pytest.mark.parametrize("line", ["/quit", "dereg alice"])
def test_going_offline_while_away_does_not_ask_to_be_marked_back_first(line: str) -> None:
    made, out = shared(), list[pa.Action]()
    typed, watchers = commands(made), made.line_watchers
    away = SetAway("a-1", "alice", "tok", "lunch")
    typed.away_answered(away, Ack("r-1", "a-1"), T0, out.append)
    watchers.pop()(line, T0, out.append)  # the registry forgets the mark as we go offline
    assert sent(out) == [] and typed.away == "" and not watchers


def test_who_marks_those_away_and_online() -> None:
    made, out = shared(), list[pa.Action]()
    typed = commands(made)
    made.table.replace(
        4,
        (
            Entry("alice", "127.0.0.1", 6001, True),
            Entry("bob", *BOB, True, "", "lunch"),
            Entry("dave", "127.0.0.1", 6004, True, "", "away"),
            Entry("carol", "127.0.0.1", 6003, False, "", "gone"),
        ),
        (),
    )
    typed.who("", T0, out.append)
    assert prints(out)[1:] == [
        "  alice  online   (you)",
        "  bob    online   (away: lunch)",
        "  carol  offline",
        "  dave   online   (away)",
    ]


def test_away_given_up_says_nobody_was_told_and_the_registry_is_away() -> None:
    core = PeerCore(name="alice", port=ME[1], server=SERVER, session="a", registry_key=REGISTRY_KEY)
    core.start(T0)
    rows = (Entry("alice", *ME, True),)
    core.receive(Welcome("r-1", "a-1", "alice", "tok", 1, rows, (), ()), SERVER, REGISTRY_KEY, T0)
    core.line("/away", T0)
    out = [a for n in range(1, 40) for a in core.tick(T0 + n)]
    said = prints(out)
    assert "[Away needs the registry; nobody was told.]" in said and core.prompt() == "alice> "
    assert any(isinstance(a, pa.AskRegistryKey) for a in out)  # (the registry is away)
