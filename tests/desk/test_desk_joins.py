"""Joining the waiting room, taking a held place back with its token, giving it up, and
the refusals of a join (registry.core.desk.persons)."""

from __future__ import annotations

import re

import pytest
from desk_harness import PHONES, Desk, busy_desk, positions

from wire.desk.messages import (
    EST_NOBODY,
    DeskCrisis,
    DeskEnded,
    DeskGiveUp,
    DeskNotice,
    DeskPosition,
    DeskQueued,
    DeskRefused,
    DeskRoom,
    DeskServed,
    DeskSession,
)
from wire.desk.text import DEFAULT_CRISIS_NOTICE, YOU_LEFT, description_problem
from wire.version import WIRE_VERSION, wire_refusal


def test_a_dropped_place_is_restored_with_the_token_and_the_same_position() -> None:
    desk = busy_desk(grace=120.0)
    for conn, name in (("a", "Alice"), ("b", "Bob"), ("c", "Carol")):
        desk.join(conn, name)
    token = desk.token("b")
    desk.drop("b")
    desk.advance(100)
    desk.join("b2", "Bob", token=token)
    queued = desk.last("b2", DeskQueued)
    assert queued.restored and queued.position == 2 and queued.token == token
    assert positions(desk, "a", "b2", "c") == [1, 2, 3]
    assert desk.queue.next_wake() is None


def test_a_place_taken_back_goes_by_the_name_given_now() -> None:
    desk = busy_desk()
    desk.join("b", "Bbo", phone=PHONES["Bob"])
    token = desk.token("b")
    desk.drop("b")
    desk.join("b2", "Bob", token=token)  # the client started again, the slip put right
    desk.room("op")
    assert [r.name for r in desk.last("op", DeskRoom).rows] == ["Bob"]


def test_a_token_does_not_work_for_another_number() -> None:
    desk = busy_desk()
    desk.join("a", "Alice")
    token = desk.token("a")
    desk.drop("a")
    desk.join("x", "Mallory", phone="+1 303 555 0100", token=token)
    assert not desk.last("x", DeskQueued).restored
    assert desk.last("x", DeskQueued).position == 2


def test_a_reconnection_replaces_a_half_open_connection() -> None:
    desk = busy_desk()
    desk.join("a", "Alice")
    token = desk.token("a")
    desk.join("a2", "Alice", token=token)  # the old connection never reported a break
    assert desk.last("a", DeskEnded).reason == "Replaced by a new connection."
    assert "a" in desk.closed
    assert desk.last("a2", DeskQueued).restored
    desk.drop("a")  # the old connection's late close changes nothing
    assert desk.queue.state.waiting[0].conn == "a2"


def test_the_same_number_cannot_join_twice() -> None:
    desk = busy_desk()
    desk.join("a", "Alice")
    desk.join("a2", "Alice again", phone="+44-7700-900-123")
    assert "already connected" in desk.last("a2", DeskRefused).reason


def test_the_same_number_from_the_same_computer_without_the_token_takes_no_place_back() -> None:
    # an address is no proof of who was given a place: a same-address impostor who knows
    # the number is admitted as a place of its own at the back, and Alice's stays hers
    desk = busy_desk()
    desk.queue.opened("a", "192.168.1.7", "alice-key")
    desk.join("a", "Alice")
    desk.join("b", "Bob")
    desk.drop("a")
    desk.queue.opened("m", "192.168.1.7", "mallory-key")
    desk.join("m", "Mallory", phone="07700 900123", topic=4)
    queued = desk.last("m", DeskQueued)
    assert not queued.restored and queued.position == 3
    assert queued.token != desk.token("a")
    alice = desk.queue.state.waiting[0]
    assert alice.name == "Alice" and alice.conn is None and alice.topic == 2
    desk.queue.opened("a2", "192.168.1.7", "alice-key")
    desk.join("a2", "Alice", token=desk.token("a"))  # the real client, with its token
    back = desk.last("a2", DeskQueued)
    assert back.restored and back.position == 1


def test_a_token_one_character_off_takes_nothing_back() -> None:
    desk = busy_desk()
    desk.join("a", "Alice")
    desk.drop("a")
    token = desk.token("a")
    desk.join("m", "Alice", token=token[:-1] + chr(ord(token[-1]) ^ 1))
    assert not desk.last("m", DeskQueued).restored
    desk.join("m2", "Alice", token=token + "x")
    assert not desk.last("m2", DeskQueued).restored
    assert desk.queue.state.waiting[0].conn is None  # Alice's place is still held for her


def test_a_number_tried_from_another_computer_reveals_nothing() -> None:
    # whether someone is at the desk must not be learnt by trying their number elsewhere
    desk = busy_desk()
    desk.queue.opened("a", "192.168.1.7")
    desk.join("a", "Alice")
    desk.queue.opened("x", "192.168.1.66")
    desk.join("x", "Mallory", phone=PHONES["Alice"])
    assert desk.last("x", DeskQueued).position == 2 and "x" not in desk.closed
    desk.queue.opened("a2", "192.168.1.7")  # Alice's second terminal is still refused
    desk.join("a2", "Alice")
    assert "already connected" in desk.last("a2", DeskRefused).reason


def test_without_an_operator_the_person_is_told_and_keeps_the_place() -> None:
    desk = Desk()
    desk.join("a", "Alice")
    desk.join("b", "Bob")
    queued = desk.last("a", DeskQueued)
    assert queued.operators == 0 and queued.estimate.kind == EST_NOBODY
    desk.advance(1)
    desk.operator("op", "ann")
    assert desk.last("a", DeskServed)
    position = desk.last("b", DeskPosition)
    assert position.position == 1 and position.operators == 1


def test_topic_one_gets_the_crisis_notice_before_anything_else() -> None:
    desk = busy_desk(crisis_notice="Call 112 if you are in danger.")
    desk.join("a", "Alice", topic=1)
    first, second = desk.inbox["a"][:2]
    assert first == DeskCrisis(first.id, "Call 112 if you are in danger.")
    assert isinstance(second, DeskQueued)
    desk.join("b", "Bob", topic=2)
    assert not desk.of("b", DeskCrisis)


def test_crisis_words_in_a_description_get_the_crisis_notice_whatever_the_topic() -> None:
    # found by trying the desk: topic 3 with "I want to kill myself" got nothing
    desk = busy_desk(crisis_notice="Call 112 if you are in danger.")
    desk.join("a", "Alice", topic=3, description="failing everything, I want to kill myself")
    assert isinstance(desk.inbox["a"][0], DeskCrisis)
    assert isinstance(desk.inbox["a"][1], DeskQueued)
    desk.join("b", "Bob", topic=3, description="weak in maths, killing time before exams")
    assert not desk.of("b", DeskCrisis)


def test_the_crisis_notice_comes_even_with_a_refusal() -> None:
    desk = busy_desk(max_waiting=1, danger_room=0)
    desk.join("a", "Alice")
    desk.join("b", "Bob", topic=1)
    assert isinstance(desk.inbox["b"][0], DeskCrisis)
    assert desk.inbox["b"][0].text == DEFAULT_CRISIS_NOTICE
    assert isinstance(desk.inbox["b"][1], DeskRefused)


def test_the_desk_refuses_a_description_as_the_client_does() -> None:
    desk = busy_desk()
    desk.join("a", "Alice", topic=3, description=" ")
    desk.join("b", "Bob", topic=3, description="x" * 301)
    desk.join("c", "Carol", topic=2, description="")  # only topic 3 asks for one
    assert (
        desk.last("a", DeskRefused).reason
        == description_problem(3, "")
        == ("Please write a few words.")
    )
    assert desk.last("b", DeskRefused).reason == description_problem(3, "x" * 301)
    assert [p.name for p in desk.queue.state.waiting] == ["Carol"]


def test_a_full_room_refuses_with_the_reason_and_the_estimate() -> None:
    desk = busy_desk(max_waiting=2)
    desk.join("a", "Alice")
    desk.join("b", "Bob")
    desk.join("c", "Carol")
    refused = desk.last("c", DeskRefused)
    assert "waiting room is full (2 people)" in refused.reason
    assert re.search(r"estimated wait is \d+-\d+ min, from a typical session", refused.reason)
    assert "c" in desk.closed
    assert [p.name for p in desk.queue.state.waiting] == ["Alice", "Bob"]


def test_one_address_holds_at_most_its_share_of_the_room_held_places_included() -> None:
    desk = busy_desk(max_per_address=2)
    for conn, name, phone, address in (
        ("a", "Alice", "+44 7700 900001", "192.168.1.7"),
        ("b", "Bob", "+44 7700 900002", "192.168.1.7"),
        ("c", "Carol", "+44 7700 900003", "192.168.1.7"),
        ("d", "Dan", "+44 7700 900004", "192.168.1.8"),
    ):
        desk.queue.opened(conn, address)
        desk.join(conn, name, phone=phone)
    refused = desk.last("c", DeskRefused)
    assert "This computer (192.168.1.7) already holds 2 places" in refused.reason
    assert "c" in desk.closed
    assert "desk: 192.168.1.7 holds 2 places; refused another" in desk.logs
    assert [p.name for p in desk.queue.state.waiting] == ["Alice", "Bob", "Dan"]
    desk.drop("b")  # Bob's place is held for his token: it still counts
    desk.queue.opened("c2", "192.168.1.7")
    desk.join("c2", "Carol", phone="+44 7700 900003")
    assert "c2" in desk.closed
    desk.queue.opened("b2", "192.168.1.7")
    desk.join("b2", "Bob", phone="+44 7700 900002", token=desk.token("b"))  # his own place back
    assert "b2" not in desk.closed


def test_loopback_is_limited_per_address_and_connections_from_nowhere_are_not() -> None:
    desk = busy_desk(max_per_address=1)
    for conn, name in (("a", "Alice"), ("b", "Bob")):
        desk.queue.opened(conn, "127.0.0.1", f"{name}-key")
        desk.join(conn, name)
    assert "This computer (127.0.0.1) already holds 1 places" in desk.last("b", DeskRefused).reason
    desk.join("c", "Carol")  # never said where it comes from (the registry's console)
    desk.join("d", "Dan")
    assert [p.name for p in desk.queue.state.waiting] == ["Alice", "Carol", "Dan"]


def test_one_client_key_holds_at_most_two_places() -> None:
    desk = busy_desk()
    for index, (conn, name) in enumerate((("a", "Alice"), ("b", "Bob"), ("c", "Carol"))):
        desk.queue.opened(conn, f"192.168.1.{index + 1}", "one-key")  # a key, three addresses
        desk.join(conn, name)
    refused = desk.last("c", DeskRefused)
    assert "This help desk client already holds 2 places" in refused.reason
    assert "desk: a client key holds 2 places; refused another" in desk.logs
    assert [p.name for p in desk.queue.state.waiting] == ["Alice", "Bob"]


def test_fifty_joins_from_one_computer_then_a_person_in_danger_gets_in() -> None:
    # what locked the desk: one address filled the room, and topic 1 was told it was full
    desk = busy_desk()
    for index in range(50):
        conn = f"f{index}"
        desk.queue.opened(conn, "127.0.0.1", f"fake-key-{index}")
        desk.join(conn, f"Fake{index}", phone=f"+44 7700 9{index:05d}")
    assert len(desk.queue.state.waiting) == 10  # MAX_PER_ADDRESS; the other 40 were refused
    desk.queue.opened("v", "192.168.1.9", "victim-key")
    desk.join("v", "Vera", phone="+44 7700 955555", topic=1)
    assert desk.last("v", DeskQueued).position == 11 and "v" not in desk.closed


def test_ordinary_joins_from_a_computer_never_keep_its_person_in_danger_out() -> None:
    desk = busy_desk(max_per_address=3)
    for index in range(5):
        conn = f"f{index}"
        desk.queue.opened(conn, "10.0.0.5", f"fake-key-{index}")
        desk.join(conn, f"Fake{index}", phone=f"+44 7700 9{index:05d}")
    desk.queue.opened("v", "10.0.0.5", "victim-key")  # a shared computer
    desk.join("v", "Vera", phone="+44 7700 955555", description="I want to die")
    assert desk.last("v", DeskQueued) and "v" not in desk.closed


def test_a_full_room_still_takes_a_person_in_danger() -> None:
    desk = busy_desk(max_waiting=2, danger_room=1)
    desk.join("a", "Alice")
    desk.join("b", "Bob")
    desk.join("c", "Carol", topic=1)
    assert desk.last("c", DeskQueued).position == 3
    desk.join("d", "Dan", topic=1)  # the room kept for people in danger is bounded too
    assert "waiting room is full (3 people)" in desk.last("d", DeskRefused).reason


@pytest.mark.parametrize(
    ("name", "phone", "topic", "why"),
    [
        ("", "+44 7700 900123", 2, "Please type your name."),
        ("Alice", "12345", 2, "7 to 15 digits"),
        ("Alice", "+44 7700 900123", 7, "Topic 7 does not exist"),
        ("Al\x1bice", "+44 7700 900123", 2, "control characters"),
        ("Al\tice", "+44 7700 900123", 2, "control characters"),
        ("Alice\u202e", "+44 7700 900123", 2, "control characters"),
        ("\u200c\u200f ", "+44 7700 900123", 2, "Please type your name."),
    ],
)
def test_bad_joins_are_refused_with_a_reason(name: str, phone: str, topic: int, why: str) -> None:
    desk = Desk()
    desk.join("a", name, phone=phone, topic=topic)
    assert why in desk.last("a", DeskRefused).reason
    assert desk.closed == ["a"]
    assert not desk.queue.state.waiting


@pytest.mark.parametrize(
    "name",
    [
        "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627",  # Persian, with a zero-width non-joiner
        "\u200f\u05d3\u05e0\u05d4",  # Hebrew after a right-to-left mark
        "Zo\u00eb \U0001f469\u200d\U0001f4bb",  # an emoji sequence joined by a ZWJ
    ],
)
def test_names_that_need_joiners_and_marks_are_welcome(name: str) -> None:
    desk = Desk()
    desk.join("a", name)
    assert [p.name for p in desk.queue.state.waiting] == [name]


def test_a_person_or_operator_of_another_wire_is_refused_with_both_wires() -> None:
    desk = Desk()
    desk.operator("o1", "ann")
    desk.join("a", "Alice", wire="0badc0de")
    assert desk.last("a", DeskRefused).reason == wire_refusal("0badc0de", "desk client")
    desk.operator("o2", "bo", wire="0badc0de")
    assert desk.last("o2", DeskRefused).reason == wire_refusal("0badc0de", "operator client")
    assert desk.closed == ["a", "o2"]
    assert [line for line in desk.logs if "versions differ" in line] == [
        f"desk: refused 'Alice': {wire_refusal('0badc0de', 'desk client')}",
        f"desk: refused 'bo': {wire_refusal('0badc0de', 'operator client')}",
    ]
    assert not desk.queue.state.waiting and [
        o.name for o in desk.queue.state.operators.values()
    ] == ["ann"]


def test_a_person_in_crisis_of_another_wire_still_sees_the_crisis_notice_first() -> None:
    desk = Desk()
    desk.join("a", "Alice", topic=1, wire="0badc0de")
    assert [type(m).__name__ for m in desk.inbox["a"]] == ["DeskCrisis", "DeskRefused"]


def test_a_number_typed_into_a_name_is_masked_for_every_operator() -> None:
    desk = busy_desk()
    desk.join("a", f"Alice {PHONES['Alice']}", phone=PHONES["Alice"])
    desk.room("op")
    assert [r.name for r in desk.last("op", DeskRoom).rows] == ["Alice **********23"]
    assert desk.last("op", DeskNotice).text.startswith("Alice **********23 is waiting")
    desk.end("op")
    assert desk.last("op", DeskSession).name == "Alice **********23"
    desk.join("b", "Bob 07700 900606", phone=PHONES["Bob"])  # someone else's number
    desk.room("op")
    assert [r.name for r in desk.last("op", DeskRoom).rows] == ["Bob *********06"]


def test_a_place_whose_person_left_while_away_is_given_up_when_told() -> None:
    desk = busy_desk()
    for conn, name in (("a", "Alice"), ("b", "Bob"), ("c", "Carol")):
        desk.join(conn, name)
    alice = desk.token("a")
    desk.drop("a")
    desk.advance(2)
    # a stranger with the token but another number, or a wrong token: nothing happens
    for phone, token in ((PHONES["Bob"], alice), (PHONES["Alice"], "guess")):
        desk.send("x", DeskGiveUp(desk.mid(), phone, token, WIRE_VERSION))
        said = desk.last("x", DeskEnded).reason
        assert said == "You left the help desk; no place was held for you any more."
        assert "x" in desk.closed and len(desk.queue.state.waiting) == 3
        desk.drop("x")
        desk.closed.remove("x")
    desk.send("a2", DeskGiveUp(desk.mid(), "+447700900123", alice, WIRE_VERSION))
    assert desk.last("a2", DeskEnded).reason == YOU_LEFT
    assert "a2" in desk.closed and desk.queue.state.conns.get("a2") is None
    assert [p.name for p in desk.queue.state.waiting] == ["Bob", "Carol"]
    assert desk.logs[-1] == (
        "desk: Alice (phone **********23) left the waiting room (said once the connection was lost)"
    )
    assert [p.name for p in desk.kept] == ["Zed", "Bob", "Carol"]
    desk.advance(1)
    assert desk.last("b", DeskPosition).position == 1  # at once, not after the grace period
    desk.send("a3", DeskGiveUp(desk.mid(), PHONES["Alice"], alice, "0badc0de"))
    assert "0badc0de" in desk.last("a3", DeskRefused).reason
