"""What a person holding a place sends: .queue, lines, .end and leaving
(registry.core.desk.persons)."""

from __future__ import annotations

from desk_harness import busy_desk

from wire.desk.messages import (
    EST_TYPICAL,
    DeskEnded,
    DeskLine,
    DeskNotice,
    DeskPosition,
    DeskServed,
)
from wire.desk.render import render_person
from wire.desk.text import ENDED, ENDED_TO_PERSON


def test_lines_go_between_the_two_sides_only() -> None:
    desk = busy_desk()
    desk.join("a", "Alice")
    desk.say("op", "hello Zed")
    desk.say("z", "hi ann")
    line = desk.last("z", DeskLine)
    assert line == DeskLine(line.id, "ann", "hello Zed", desk.session_of("op"))
    assert desk.last("op", DeskLine).text == "hi ann"
    assert desk.last("op", DeskLine).sender == "Zed"
    assert not desk.of("a", DeskLine)
    desk.say("a", "anyone?")
    assert "not being served" in desk.last("a", DeskNotice).text


def test_the_person_ending_tells_the_operator() -> None:
    desk = busy_desk()
    desk.end("z")
    assert desk.last("z", DeskEnded).reason == ENDED_TO_PERSON.format("You")
    assert desk.last("op", DeskEnded).reason == ENDED.format("Zed")
    assert "z" in desk.closed


def test_a_persons_lines_that_cross_the_operators_end_are_counted_for_the_person() -> None:
    # The connection closes with the DeskEnded: the person's client can tell which of its
    # last lines never arrived only from how many did.
    desk = busy_desk()
    desk.say("z", "one")
    desk.say("z", "two")
    desk.end("op")
    ended = desk.last("z", DeskEnded)
    assert ended.heard == 2 and not ended.requeued and "z" in desk.closed
    assert desk.last("op", DeskEnded).heard == -1


def test_a_persons_line_for_a_session_that_is_over_reaches_no_other_operator() -> None:
    # ann's connection breaks while Zed types; bea takes Zed at once: Zed's line, typed
    # for ann, is answered, not passed to bea out of the blue.
    desk = busy_desk()
    desk.operator("op2", "bea")
    with_ann = desk.session_of("z")
    desk.drop("op")
    assert desk.last("z", DeskEnded).heard == -1  # the connection stays: lines are answered
    assert desk.last("z", DeskServed).operator == "bea"
    desk.say("z", "as I was saying", session=with_ann)
    assert desk.of("op2", DeskLine) == []
    assert desk.last("z", DeskNotice).text == (
        "Not sent: your session had ended before this line reached the help desk. "
        "The line was: as I was saying"
    )
    desk.end("z", session=with_ann)  # nor does an .end typed for ann end bea's session
    assert desk.last("z", DeskNotice).text == (
        "That session was already over; your session with bea goes on."
    )
    desk.say("z", "hello bea")
    assert [m.text for m in desk.of("op2", DeskLine)] == ["hello bea"]


def test_queue_answers_ahead_waited_and_estimate() -> None:
    desk = busy_desk()
    desk.join("a", "Alice")
    desk.join("b", "Bob")
    desk.advance(42)
    desk.ask("b")
    info = desk.last("b", DeskPosition)
    assert (bool(info.reply_to), info.position, info.waited, info.operators) == (True, 2, 42, 1)
    # a fresh desk: sessions of a typical 10 min, half to one and a half of it each; ann's
    # has 558 s to go, then Alice's
    assert (info.estimate.kind, info.estimate.low, info.estimate.high) == (EST_TYPICAL, 558, 1758)
    assert render_person(info) == [
        "[1 person is ahead of you; you have waited 42 s; estimated wait: 9-29 min, from a "
        "typical session length.]"
    ]
