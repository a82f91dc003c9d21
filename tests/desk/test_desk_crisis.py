"""Someone who may be in danger, in the desk's core on a fake clock: operators are told,
`.room` and the handover say so, and `.first` lets an operator take them next."""

from __future__ import annotations

from desk_harness import Desk

from registry.core.desk.actions import KeptPlace, SessionLine, SessionStarted
from registry.core.desk.limits import ARRIVALS_INTERVAL
from wire.desk.messages import (
    CRISIS_DESCRIPTION,
    CRISIS_TOPIC,
    CRISIS_WAITING,
    DeskCrisis,
    DeskFirst,
    DeskLine,
    DeskNotice,
    DeskPosition,
    DeskRoom,
    DeskServed,
    DeskSession,
)
from wire.desk.render import render_operator
from wire.desk.text import MAX_SAID_CHARS, MAX_SAID_LINES, keep_said


def busy_desk() -> Desk:
    """ann serves every topic, bea topic 3 only; both busy."""
    desk = Desk()
    desk.operator("op", "ann")
    desk.operator("op3", "bea", (3,))
    desk.join("z", "Zed", phone="+1 999 888 7777", topic=2)
    desk.join("y", "Yan", phone="+1 999 888 6666", topic=3)
    assert desk.of("z", DeskServed) and desk.of("y", DeskServed)
    desk.advance(ARRIVALS_INTERVAL)  # past any "is waiting" notice
    desk.take("op")
    desk.take("op3")
    return desk


def notices(desk: Desk, conn: str) -> list[str]:
    return [m.text for m in desk.take(conn) if isinstance(m, DeskNotice)]


def test_words_of_crisis_in_the_description_are_told_at_once_and_marked() -> None:
    desk = busy_desk()
    desk.join("a", "Alice", topic=2)  # told as usual: "Alice is waiting"
    desk.advance(1)
    desk.take("op")
    desk.join("m", "Maria", topic=3, description="maths, and I want to die")
    assert isinstance(desk.inbox["m"][0], DeskCrisis)
    # within 30 s of the last newcomer, yet told at once, to both who serve topic 3
    alert = (
        "!!! Maria, number 2 in the waiting room (3 Weak in Academics), may be in danger: "
        "their description speaks of it. .first Maria puts them at the front of the line."
    )
    assert notices(desk, "op") == [alert]
    assert notices(desk, "op3") == [alert]
    desk.room("op")
    room = desk.last("op", DeskRoom)
    assert [r.crisis for r in room.rows] == ["", CRISIS_DESCRIPTION]
    rows = render_operator(room)
    assert rows[1].startswith("     1. Alice")
    assert rows[2].startswith("!!!  2. Maria") and rows[2].endswith(
        "may be in danger: their description speaks of it)"
    )
    assert any("may be in danger: their description speaks of it" in line for line in desk.logs)


def test_the_handover_says_why_they_may_be_in_danger_and_what_they_wrote() -> None:
    desk = busy_desk()
    desk.join("m", "Maria", topic=3)
    desk.say("m", "nobody is answering and I want to kill myself")
    desk.end("op3")  # bea takes Maria
    session = desk.last("op3", DeskSession)
    assert session.crisis == CRISIS_WAITING
    assert session.said == ("nobody is answering and I want to kill myself",)
    lines = render_operator(session)
    assert lines[1] == (
        "[!!! They may be in danger: they wrote of it while waiting. They were shown the "
        "crisis notice.]"
    )
    assert lines[2:4] == [
        "[Description: weak in maths]",
        "[!!! They wrote while waiting: nobody is answering and I want to kill myself]",
    ]


def test_every_line_of_crisis_typed_while_waiting_reaches_the_operator() -> None:
    # found by trying it: "I might kill myself tonight" then "please, I am suicidal"; the
    # operator saw only the second
    desk = busy_desk()
    desk.join("m", "Maria", topic=3)
    desk.say("m", "I might kill myself tonight")
    desk.say("m", "please, I am suicidal")
    desk.end("op3")
    session = desk.last("op3", DeskSession)
    assert session.said == ("I might kill myself tonight", "please, I am suicidal")
    assert render_operator(session)[3:5] == [
        "[!!! They wrote while waiting: I might kill myself tonight]",
        "[!!! Then: please, I am suicidal]",
    ]
    # the transcript begins with them too, and the mark; the number scrubbed, as elsewhere
    [started] = [
        r for r in desk.records if isinstance(r, SessionStarted) and r.told.name == "Maria"
    ]
    assert started.told.crisis == CRISIS_WAITING
    assert started.told.said == session.said
    desk.join("f", "Fay", topic=3)  # phone 07911 123456
    desk.say("f", "I want to die, call me on 07911 123456")
    desk.end("op3")
    [started] = [r for r in desk.records if isinstance(r, SessionStarted) and r.told.name == "Fay"]
    assert started.told.said == ("I want to die, call me on *********56",)
    assert desk.last("op3", DeskSession).said == ("I want to die, call me on 07911 123456",)


def test_the_lines_kept_are_bounded_the_earliest_first() -> None:
    desk = busy_desk()
    desk.join("m", "Maria", topic=3)
    for n in range(MAX_SAID_LINES + 3):
        desk.say("m", f"I want to die {n}")
    said = desk.queue.state.waiting[-1].said
    assert said == tuple(f"I want to die {n}" for n in range(MAX_SAID_LINES))
    long = "suicidal " + "x" * (MAX_SAID_CHARS // 2)
    assert keep_said(("a",), long) == ("a", long)
    assert keep_said(("a", long), long) == ("a", long)  # over MAX_SAID_CHARS in all


def test_an_operator_coming_on_duty_is_told_who_waiting_may_be_in_danger() -> None:
    # found by trying it: going on duty while someone marked !!! waited said nothing
    desk = busy_desk()
    desk.join("a", "Alice", topic=2)
    desk.join("m", "Maria", topic=2)
    desk.say("m", "I want to die")
    desk.join("d", "Dora", topic=1, phone="+44 7700 900777")
    desk.operator("cy", "cy", (1, 2))
    [serving] = [m.name for m in desk.of("cy", DeskSession)]
    assert serving == "Alice"  # taken at once: the first in line
    assert notices(desk, "cy") == [
        "!!! Maria, number 1 in the waiting room (2 Getting Differentiated by School), may be "
        "in danger: they wrote of it while waiting. .first Maria puts them at the front of the "
        "line.",
        "!!! Dora, number 2 in the waiting room (1 Depression), may be in danger: chose topic "
        "1. .first Dora puts them at the front of the line.",
    ]
    desk.operator("cz", "cz", (5,))  # nobody of its topics: nothing to say
    assert notices(desk, "cz") == []


def test_the_consoles_own_duty_is_not_logged_again_under_what_it_printed() -> None:
    # found by trying it: `.serve all` on the registry console printed that admin serves
    # all topics twice (its DeskOnDuty, then the log on the same console)
    desk = Desk()
    desk.operator("console", "admin")  # never `opened`: the registry's console
    desk.serve("console", (2,))
    assert not any("operator admin" in line for line in desk.logs)
    desk.queue.opened("o", "10.0.0.7")
    desk.operator("o", "ann")
    desk.serve("o", (2,))
    assert [line for line in desk.logs if "operator ann" in line] == [
        "desk: operator ann on duty (all topics)",
        "desk: operator ann now serves topics 2 Getting Differentiated by School",
    ]


def test_topic_1_is_marked_but_not_an_alarm() -> None:
    desk = busy_desk()
    desk.join("d", "Dora", topic=1)
    assert notices(desk, "op") == [
        "Dora is waiting (1 Depression); 1 waiting in all."
    ]  # the usual notice
    desk.room("op")
    assert [r.crisis for r in desk.last("op", DeskRoom).rows] == [CRISIS_TOPIC]
    desk.end("op")
    session = desk.last("op", DeskSession)
    assert session.crisis == CRISIS_TOPIC and session.said == ()
    assert "chose topic 1" in render_operator(session)[1]


def test_a_line_of_crisis_while_waiting_tells_the_operators_of_the_topic() -> None:
    desk = busy_desk()
    desk.join("a", "Alice", topic=2)
    desk.join("m", "Maria", topic=2)
    desk.take("m")
    notices(desk, "op")
    desk.say("m", "I am going to hurt myself")
    assert isinstance(desk.inbox["m"][0], DeskCrisis)  # the registry's own notice, once
    assert notices(desk, "m") == [
        "The operators on duty have been told that you may need help urgently; the one who "
        "serves you will see what you wrote."
    ]
    assert notices(desk, "op") == [
        "!!! Maria, number 2 in the waiting room (2 Getting Differentiated by School), may "
        "be in danger: they wrote of it while waiting. .first Maria puts them at the front of "
        "the line."
    ]
    assert notices(desk, "op3") == []  # bea does not serve topic 2
    assert any("Maria" in line and "words of crisis while waiting" in line for line in desk.logs)
    desk.advance(5)
    desk.say("m", "I am going to hurt myself, please")
    assert not desk.of("m", DeskCrisis)
    assert notices(desk, "op") == []  # told a moment ago: once is enough to act on
    assert len(notices(desk, "m")) == 1  # the person is answered every time
    desk.advance(ARRIVALS_INTERVAL)
    desk.say("m", "still here, suicidal")
    assert len(notices(desk, "op")) == 1
    notices(desk, "m")
    # a line with no such words is answered as before, and nobody is told
    desk.say("m", "how long now?")
    assert notices(desk, "m") == ["You are not being served yet; .queue shows where you stand."]
    assert notices(desk, "op") == []


def test_when_nobody_serves_the_topic_everyone_on_duty_is_told() -> None:
    desk = busy_desk()
    desk.serve("op", (2,))
    desk.take("op")
    desk.join("m", "Maria", topic=5)
    desk.say("m", "i want to end it all")
    # `.serve` replaces the topics served: each is given the command that adds topic 5
    hint = "Nobody on duty serves topic 5: .serve {} adds it to yours, to take them."
    assert notices(desk, "op")[0].endswith(hint.format("2,5"))
    assert notices(desk, "op3")[0].endswith(hint.format("3,5"))
    desk.send("op", DeskFirst(desk.mid(), 1))
    assert notices(desk, "op") == [
        "Maria is already first in the waiting room; nobody on duty serves 5 Financial "
        "Suggestions yet."
    ]


def test_with_nobody_on_duty_the_person_is_told_so() -> None:
    desk = Desk()
    desk.join("m", "Maria", topic=5)
    desk.say("m", "i want to end it all")
    [said] = notices(desk, "m")
    assert said.startswith("No operator is on duty to be told yet")
    # found by trying it: a second line soon after was said to have been told to operators
    desk.advance(1)
    desk.say("m", "i want to end it all, really")
    [said] = notices(desk, "m")
    assert said.startswith("No operator is on duty to be told yet")
    desk.operator("op", "ann", ())  # on duty, though not for topic 5: told at once
    desk.advance(1)
    desk.say("m", "please, i want to end it all")
    assert notices(desk, "m")[0].startswith("The operators on duty have been told")
    assert "may be in danger" in notices(desk, "op")[-1]


def test_first_puts_someone_at_the_front_by_an_operators_choice() -> None:
    desk = busy_desk()
    for conn, name in (("a", "Alice"), ("b", "Bob"), ("c", "Carol")):
        desk.join(conn, name, topic=2)
    desk.advance(2)
    desk.take("c")
    notices(desk, "op")
    desk.send("op", DeskFirst(desk.mid(), 3))
    assert notices(desk, "op") == [
        "Carol is now number 1 in the waiting room; the next operator free for 2 Getting "
        "Differentiated by School takes them."
    ]
    assert desk.last("c", DeskPosition).position == 1
    assert notices(desk, "c") == ["An operator has moved you to the front of the line."]
    assert desk.last("a", DeskPosition).position == 2
    assert any("operator ann put Carol" in line and "from number 3" in line for line in desk.logs)
    assert [p.name for p in desk.kept][-3:] == ["Carol", "Alice", "Bob"]  # kept so on disk
    desk.end("op")
    assert desk.last("c", DeskServed).operator == "ann"


def test_first_with_a_number_not_in_the_room_says_so() -> None:
    desk = busy_desk()
    desk.join("a", "Alice", topic=2)
    notices(desk, "op")
    desk.send("op", DeskFirst(desk.mid(), 4))
    assert notices(desk, "op") == [
        "There is no number 4 in the waiting room (1 person); .room lists them."
    ]
    desk.send("op", DeskFirst(desk.mid(), 1))  # first already: nobody else moves
    assert notices(desk, "a") == []
    # found by trying it: told Alice "is now number 1", as if something had been done
    assert notices(desk, "op") == [
        "Alice is already first in the waiting room; the next operator free for 2 Getting "
        "Differentiated by School takes them."
    ]


def test_the_alert_names_the_person_so_that_its_command_still_takes_them_later() -> None:
    # found by trying it: the alert said `.first 4`; someone ahead left and someone else
    # joined, and `.first 4` copied from it moved another person
    desk = busy_desk()
    for conn, name in (("a", "Alice"), ("b", "Bob"), ("c", "Carol")):
        desk.join(conn, name, topic=2)
    desk.join("m", "Maria", topic=2)
    notices(desk, "op")
    desk.say("m", "i want to end it all")
    assert notices(desk, "op")[-1].endswith(" .first Maria puts them at the front of the line.")
    desk.leave("a")
    desk.join("f", "Fay", topic=2)
    notices(desk, "m")
    desk.send("op", DeskFirst(desk.mid(), 0, "  maria "))
    assert notices(desk, "op")[-1].startswith("Maria is now number 1 in the waiting room")
    assert notices(desk, "m") == ["An operator has moved you to the front of the line."]
    desk.send("op", DeskFirst(desk.mid(), 0, "Zed"))
    assert notices(desk, "op")[-1] == "Nobody called Zed is waiting; .room lists who is."


def test_first_by_a_name_two_people_share_gives_their_numbers_to_choose_from() -> None:
    desk = busy_desk()
    desk.join("a", "Alice", topic=2)
    desk.join("m1", "Maria", topic=2, phone="+44 7700 900001")
    desk.join("m2", "maria", topic=2, phone="+44 7700 900002")
    notices(desk, "op")
    desk.say("m2", "i want to end it all")
    # the name would not say which: the alert gives the number as it is now
    assert notices(desk, "op")[-1].endswith(" .first 3 puts them at the front of the line.")
    desk.send("op", DeskFirst(desk.mid(), 0, "MARIA"))
    assert notices(desk, "op") == [
        "2 people called MARIA are waiting: numbers 2 and 3 in .room; .first 2 (say) takes "
        "the one you mean."
    ]
    assert [p.name for p in desk.queue.state.waiting] == ["Alice", "Maria", "maria"]  # unmoved


def test_a_kept_place_after_a_restart_is_marked_from_its_description() -> None:
    desk = Desk()
    place = KeptPlace("t1", "Maria", "+447700900123", 3, "self-harm", "", 0.0)
    desk.restore([place], 0.0)
    desk.operator("op", "ann", ())
    desk.room("op")
    assert [r.crisis for r in desk.last("op", DeskRoom).rows] == [CRISIS_DESCRIPTION]


def test_words_of_crisis_typed_while_waiting_keep_their_mark_across_a_restart() -> None:
    desk = busy_desk()
    desk.join("a", "Alice", topic=2)
    token = desk.token("a")
    desk.say("a", "I want to die")
    [_, _, alice] = desk.kept
    assert (alice.crisis, alice.said) == (CRISIS_WAITING, ("I want to die",))
    desk.advance(1)
    desk.say("a", "please, I am suicidal")
    [_, _, alice] = desk.kept
    assert alice.said == ("I want to die", "please, I am suicidal")
    after = Desk()
    after.restore(list(desk.kept), 0.0)
    after.join("a", "Alice", topic=2, token=token)
    after.operator("op", "ann", ())
    after.room("op")
    assert [r.crisis for r in after.last("op", DeskRoom).rows] == ["", "", CRISIS_WAITING]
    after.advance(20)  # Zed and Yan gave up; Alice goes to the next operator
    after.operator("op2", "bea")
    session = after.last("op2", DeskSession)
    assert (session.name, session.crisis, session.said) == (
        "Alice",
        CRISIS_WAITING,
        ("I want to die", "please, I am suicidal"),
    )


def test_the_command_that_adds_the_topic_is_serve_all_when_it_completes_them() -> None:
    desk = busy_desk()
    desk.serve("op", (1, 2, 3, 4, 6))
    desk.serve("op3", ())
    desk.take("op")
    desk.take("op3")
    desk.join("m", "Maria", topic=5)
    desk.say("m", "i want to end it all")
    assert ".serve all adds it to yours" in notices(desk, "op")[0]
    assert ".serve 5 adds it to yours" in notices(desk, "op3")[0]


def test_words_of_crisis_in_a_session_stand_out_for_the_operator_alone() -> None:
    # found by trying it: "I want to die" typed to the operator read like any other line
    desk = busy_desk()
    desk.take("y")
    desk.say("y", "maths is hard")
    desk.say("y", "some days I want to die")
    lines = [m for m in desk.take("op3") if isinstance(m, DeskLine)]
    assert [row for m in lines for row in render_operator(m)] == [
        "Yan: maths is hard",
        "!!! Yan: some days I want to die",
    ]
    # nothing more for the person: no notice, no crisis notice
    assert desk.take("y") == []
    said = [r for r in desk.records if isinstance(r, SessionLine)]
    assert [(r.text, r.crisis) for r in said] == [
        ("maths is hard", False),
        ("some days I want to die", True),
    ]
    assert desk.logs[-1] == (
        "desk: Yan (phone *********66) wrote words of crisis in their session with bea"
    )
    # the operator's own words are not the person's: nothing is marked, nothing logged
    logged = len(desk.logs)
    desk.say("op3", "do you want to die?")
    assert [r.crisis for r in desk.records if isinstance(r, SessionLine)][-1] is False
    assert len(desk.logs) == logged
