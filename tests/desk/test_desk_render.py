"""How desk messages read to an operator and to a person."""

from __future__ import annotations

from wire.desk.messages import (
    EST_NOBODY,
    EST_TYPICAL,
    DeskCrisis,
    DeskLine,
    DeskPosition,
    DeskQueued,
    DeskRoom,
    DeskSession,
    RoomRow,
    WaitEstimate,
)
from wire.desk.render import render_operator, render_person
from wire.desk.text import clean_crisis_notice, topic_label
from wire.shown_text import clean, width


def test_control_characters_cannot_reach_the_terminal() -> None:
    assert clean("hi\x1b[2J\nthere") == "hi\ufffd[2J\ufffdthere"
    assert render_operator(DeskLine("", "bob\r", "x\x07", "s")) == ["bob\ufffd: x\ufffd"]
    # Before: every invisible format character went too, breaking emoji sequences apart
    assert render_operator(DeskLine("", "dana", "thanks 👨‍👩‍👧", "s")) == ["dana: thanks 👨‍👩‍👧"]


def test_what_the_person_and_operator_see() -> None:
    queued = DeskQueued("", "", "tok", 2, 2, 0, 120, False, WaitEstimate(EST_NOBODY, 0, 0))
    lines = render_person(queued)
    assert lines[0].startswith("[No operator is on duty")
    assert "number 2 in the queue" in lines[1]
    assert (
        "number 1 in the queue: you are next"
        in render_person(DeskPosition("", "", 1, 1, 0, WaitEstimate(EST_TYPICAL, 0, 0)))[0]
    )
    assert render_person(DeskPosition("", "", 3, 1, 0, WaitEstimate(EST_TYPICAL, 300, 900))) == [
        "[You are now number 3 in the queue"
        " (estimated wait: 5-15 min, from a typical session length).]"
    ]
    session = DeskSession("", "s1", "Alice", "+447700900123", 3, "maths", 65, "", ())
    shown = "\n".join(render_operator(session))
    assert "+447700900123" in shown and "3 Weak in Academics" in shown and "maths" in shown
    alice = RoomRow("Alice", 1, "***23", 5, True, "", "", 0)
    room = DeskRoom("", "", (alice, RoomRow("Bob", 2, "***45", 70, False, "", "", 0)))
    table = render_operator(room)
    assert table[0] == "[Waiting room: 2 people]"
    assert "1 Depression" in table[1] and "***23" in table[1]
    assert "place held" in table[2] and "1 min 10 s" in table[2]
    assert render_operator(DeskRoom("", "", ())) == ["[The waiting room is empty.]"]


def test_a_crisis_notice_of_several_lines_shows_each_line_marked() -> None:
    configured = "  If you are in danger now, call 999.  \r\n\n\tSamaritans: 116 123\x1b[2J\n"
    notice = clean_crisis_notice(configured)
    assert notice == "If you are in danger now, call 999.\nSamaritans: 116 123\ufffd[2J"
    assert render_person(DeskCrisis("c-1", notice)) == [
        "!!! If you are in danger now, call 999.",
        "!!! Samaritans: 116 123\ufffd[2J",
    ]


def test_the_waiting_room_lines_up_on_a_terminal_whatever_script_names_are_in() -> None:
    # each name with the columns a terminal gives it (counted by hand, not by `width`):
    # wide (CJK, fullwidth), accented, and emoji sequences drawn as one picture
    columns = {
        "王小明": 6,
        "Bob": 3,
        "José": 4,
        "😀 Kim": 6,
        "👩\u200d💻 Ana": 6,
        "❤️ Lu": 5,
        "👍🏽ok": 4,
        "\uff46\uff55\uff4c\uff4c": 8,
    }
    names = tuple(columns)
    count = len(names)
    topics = tuple(1 + i % 6 for i in range(count))
    rows = [RoomRow(n, t, "***23", 5, True, "", "", 0) for n, t in zip(names, topics, strict=True)]
    room = DeskRoom("", "", tuple(rows))
    rows = render_operator(room)[1:]
    labels = [topic_label(t) for t in topics]
    # where each row's topic starts, in columns: the same for every row
    starts = {
        row.index(label) - len(name) + columns[name]
        for row, label, name in zip(rows, labels, names, strict=True)
    }
    assert len(starts) == 1
    assert len({width(row[: row.index("waited")]) for row in rows}) == 1
