"""Operators going on duty, and what they send once there: lines, .end, .serve and going
off duty (registry.core.desk.operators)."""

from __future__ import annotations

from desk_harness import PHONES, Desk, busy_desk

from registry.core.desk.operators import WRONG_KEY
from wire.desk.messages import (
    DeskEnded,
    DeskLine,
    DeskNotice,
    DeskOnDuty,
    DeskRefused,
    DeskServed,
    DeskSession,
)
from wire.desk.render import render_operator


def test_an_operator_going_off_duty_puts_its_person_back_at_the_front() -> None:
    # leaving them was not their doing: they keep their turn for the next operator
    desk = busy_desk()
    desk.join("a", "Alice")
    desk.leave("op")
    ended = desk.last("z", DeskEnded)
    assert ended.reason == "ann went off duty; you are back at the front of the waiting room."
    assert ended.requeued
    said = "You are off duty; Zed is back at the front of the waiting room."
    assert desk.last("op", DeskEnded).reason == said
    assert desk.closed == ["op"]
    assert [p.name for p in desk.queue.state.waiting] == ["Zed", "Alice"]
    desk.operator("op2", "bo")
    assert desk.last("op2", DeskSession).name == "Zed"


def test_nobody_waiting_after_end_is_said() -> None:
    desk = busy_desk()
    desk.end("op")
    assert "Nobody is waiting" in desk.last("op", DeskNotice).text


def test_what_an_operator_typed_for_a_session_that_is_over_reaches_nobody_else() -> None:
    # The person says bye and leaves while their operator types bye or `.end`: the next
    # person, served at once, must not get that line, nor have their session ended.
    desk = busy_desk()
    desk.join("a", "Alice")
    with_zed = desk.session_of("op")
    desk.end("z")  # Zed ends it; ann serves Alice at once
    with_alice = desk.session_of("op")
    assert with_alice not in ("", with_zed)
    desk.say("op", "bye Zed", session=with_zed)
    assert desk.of("a", DeskLine) == []
    assert desk.last("op", DeskNotice).text == (
        "Not sent: the session it was typed in is over; you now serve Alice. The line was: bye Zed"
    )
    desk.end("op", session=with_zed)
    assert desk.session_of("op") == with_alice and desk.of("a", DeskEnded) == []
    assert desk.last("op", DeskNotice).text == (
        "That session was already over; your session with Alice goes on."
    )
    desk.say("op", "hello Alice")
    assert [m.text for m in desk.of("a", DeskLine)] == ["hello Alice"]


def test_an_operators_line_after_the_persons_end_is_shown_back_unsent() -> None:
    desk = busy_desk()
    with_zed = desk.session_of("op")
    desk.end("z")
    desk.say("op", "one more thing", session=with_zed)
    assert desk.last("op", DeskNotice).text == (
        "Not sent: you are not serving anyone now. The line was: one more thing"
    )


def test_an_operator_without_the_key_is_refused_and_learns_nothing() -> None:
    desk = Desk()
    desk.operator("o1", "ann")
    desk.join("a", "Alice")
    desk.operator("x", "ann", key="guessed")  # ann's name is taken, but x is not told so
    assert desk.last("x", DeskRefused).reason == WRONG_KEY  # not "the name is in use"
    assert "wrong operator key" in WRONG_KEY and "desk-key" in WRONG_KEY
    assert desk.closed == ["x"]
    assert [o.name for o in desk.queue.state.operators.values()] == ["ann"]
    assert any("wrong key" in line for line in desk.logs)
    assert not any(PHONES["Alice"] in str(m) for m in desk.inbox["x"])


def test_operator_names_are_checked_and_unique() -> None:
    desk = Desk()
    desk.operator("o1", "ann")
    desk.operator("o2", "ANN")
    # found by trying it: "an operator named ANN is already on duty", when ann was
    assert desk.last("o2", DeskRefused).reason == (
        "Cannot go on duty: an operator named ann is already on duty."
    )
    desk.operator("o3", "bad name")
    assert "Cannot go on duty" in desk.last("o3", DeskRefused).reason


def test_operators_take_the_earliest_person_they_serve() -> None:
    desk = Desk()
    desk.join("a", "Alice", topic=2)
    desk.join("b", "Bob", topic=1)
    desk.join("c", "Carol", topic=2)
    desk.operator("o1", "ann", (1,))
    assert desk.last("b", DeskServed).operator == "ann"  # not Alice: ann does not serve 2
    assert not desk.of("a", DeskServed)
    desk.operator("o2", "bea", (2, 3))
    assert desk.last("a", DeskServed).operator == "bea"
    assert not desk.of("c", DeskServed)
    desk.end("o1")  # ann is free but serves only topic 1: Carol keeps waiting for bea
    assert not desk.of("c", DeskServed)
    desk.end("o2")
    assert desk.last("c", DeskServed).operator == "bea"


def test_the_operator_free_longest_takes_the_next() -> None:
    desk = Desk()
    desk.operator("o1", "ann")
    desk.advance(1)
    desk.operator("o2", "bea")
    desk.join("a", "Alice")
    assert desk.last("a", DeskServed).operator == "ann"
    desk.join("b", "Bob")
    assert desk.last("b", DeskServed).operator == "bea"
    desk.advance(1)
    desk.end("o2")  # bea is free before ann now
    desk.advance(1)
    desk.end("o1")
    desk.join("c", "Carol")
    assert desk.last("c", DeskServed).operator == "bea"


def test_on_duty_counts_whom_the_operator_can_take_apart_from_the_room() -> None:
    desk = busy_desk()  # ann serves everything and is busy with Zed
    desk.join("a", "Alice", topic=2)
    desk.join("b", "Bob", topic=3)
    desk.join("c", "Carol", topic=2)
    desk.drop("c")  # Carol's place is held: nobody can be given her now
    desk.operator("o2", "bea", (2,))  # takes Alice at once
    on_duty = desk.last("o2", DeskOnDuty)
    assert (on_duty.waiting, on_duty.yours) == (3, 1)
    assert render_operator(on_duty) == [
        "[On duty as bea, serving topics 2 Getting Differentiated by School; 1 waiting for "
        "you, 3 in the waiting room in all.]"
    ]
    desk.serve("op", (1, 2, 3, 4, 5, 6))
    on_duty = desk.last("op", DeskOnDuty)
    assert (on_duty.waiting, on_duty.yours) == (2, 1)  # Bob, and Carol's held place
    desk.join("c", "Carol", topic=2, token=desk.token("c"))
    desk.serve("op", (1, 2, 3, 4, 5, 6))
    assert render_operator(desk.last("op", DeskOnDuty)) == [
        "[On duty as ann, serving all topics; 2 waiting.]"
    ]


def test_serve_none_takes_nobody() -> None:
    desk = Desk()
    desk.operator("o1", "ann", ())
    desk.join("a", "Alice")
    assert not desk.of("a", DeskServed)
    desk.serve("o1", (1, 2, 3, 4, 5, 6))
    assert desk.last("a", DeskServed)
