"""What the help desk accepts and says: phone rules, masking, menu, operator commands."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wire.desk.messages import (
    EST_MEASURED,
    EST_NOBODY,
    EST_TYPICAL,
    DeskCrisis,
    DeskEnd,
    DeskFirst,
    DeskLine,
    DeskPosition,
    DeskQueued,
    DeskRoom,
    DeskRoomRequest,
    DeskServe,
    DeskSession,
)
from wire.desk.text import (
    ALL_TOPICS,
    DEFAULT_CRISIS_NOTICE,
    MAX_CRISIS_LINES,
    MAX_CRISIS_NOTICE,
    clean_crisis_notice,
    crisis_lines,
    format_duration,
    format_estimate,
    is_operator_command,
    mask_phone,
    menu_lines,
    normalise_phone,
    parse_operator_line,
    parse_topics,
    phone_key,
    phone_problem,
    render_operator,
    render_person,
    scrub_phone,
    speaks_of_crisis,
    topic_label,
    topic_problem,
)
from wire.shown_text import clean, width


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("+44 7700 900123", "+447700900123"),
        ("0151-2345-6789", "015123456789"),
        ("1234567", "1234567"),
        ("+123456789012345", "+123456789012345"),
        ("  555 0100 222 ", "5550100222"),
        ("+1 (202) 555-0147", "+12025550147"),
        ("202.555.0147", "2025550147"),
        ("+44 (0) 7700 900123", "+447700900123"),
    ],
)
def test_valid_phone_numbers(typed: str, normal: str) -> None:
    assert normalise_phone(typed) == normal
    assert phone_problem(typed) is None


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "123456",
        "1234567890123456",
        "+44 (0) 7700",
        "7700 900123 ext 4",
        "44+7700900123",
        "++447700900123",
        "٠١٢٣٤٥٦٧",
        "-1234567",
        "phone",
    ],
)
def test_invalid_phone_numbers(typed: str) -> None:
    assert normalise_phone(typed) is None
    assert "7 to 15 digits" in (phone_problem(typed) or "")


@pytest.mark.parametrize("typed", ["0000000", "+1 111 111 1111", "9999-9999"])
def test_one_digit_over_and_over_is_no_number(typed: str) -> None:
    assert normalise_phone(typed) is None
    assert "real mobile number" in (phone_problem(typed) or "")


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("+447700900123", "07700900123", True),
        ("+447700900123", "447700900123", True),
        ("+12025550147", "2025550147", True),
        ("5550147", "5550147", True),
        ("+447700900123", "07700900124", False),
        ("5550147", "2025550147", False),
    ],
)
def test_one_number_however_it_is_written(one: str, other: str, same: bool) -> None:
    assert (phone_key(one) == phone_key(other)) is same


def test_masking_keeps_the_last_two_digits() -> None:
    assert mask_phone("+447700900123") == "**********23"
    assert mask_phone("1234567") == "*****67"


def test_scrubbing_catches_the_number_in_any_spelling() -> None:
    phone = "+447700900123"
    text = "call +44 7700 900123, 07700-900-123 or 7700900123; exam on 2024-05-01, id 1234567"
    scrubbed = scrub_phone(text, phone)
    assert "900123" not in scrubbed
    assert "2024-05-01" in scrubbed and "1234567" in scrubbed
    assert scrub_phone("no digits here", phone) == "no digits here"


def test_the_menu_has_the_seeds_six_topics() -> None:
    lines = "\n".join(menu_lines())
    for number, name in (
        (1, "Depression"),
        (2, "Getting Differentiated by School"),
        (3, "Weak in Academics"),
        (4, "Suggestion for Abroad Studies"),
        (5, "Financial Suggestions"),
        (6, "Other"),
    ):
        assert f"{number}. {name}" in lines


@pytest.mark.parametrize("typed", ["0", "7", "x", "", "1.5", "٣", "-1"])
def test_topic_choices_outside_the_menu(typed: str) -> None:
    topic, why = topic_problem(typed)
    assert topic is None and why is not None and "1 to 6" in why


def test_a_topic_choice() -> None:
    assert topic_problem(" 3 ") == (3, None)


def test_durations_and_estimates_read_well() -> None:
    assert format_duration(5.4) == "5 s"
    assert format_duration(125) == "2 min 05 s"
    assert format_duration(3725) == "1 h 02 min"
    assert format_duration(-3) == "0 s"
    assert "operator" in format_estimate(EST_NOBODY, 0, 0)
    measured = ", measured from recent sessions"
    assert format_estimate(EST_MEASURED, 0, 30) == "less than a minute" + measured
    assert format_estimate(EST_MEASURED, 130, 250) == "2-4 min" + measured  # nearest minute
    assert format_estimate(EST_MEASURED, 120, 180) == "2-3 min" + measured
    assert format_estimate(EST_MEASURED, 299, 301) == "about 5 min" + measured
    assert format_estimate(EST_MEASURED, 20, 70) == "0-1 min" + measured
    assert format_estimate(EST_MEASURED, 0, 60) == "0-1 min" + measured
    assert format_estimate(EST_MEASURED, 150, 210) == "3-4 min" + measured  # halves up


def test_an_estimate_says_whether_it_is_typical_or_measured() -> None:
    assert format_estimate(EST_TYPICAL, 300, 900) == "5-15 min, from a typical session length"
    assert format_estimate(EST_MEASURED, 300, 900) == "5-15 min, measured from recent sessions"
    assert format_estimate(EST_TYPICAL, 0, 0) == "less than a minute, from a typical session length"


def test_control_characters_cannot_reach_the_terminal() -> None:
    assert clean("hi\x1b[2J\nthere") == "hi\ufffd[2J\ufffdthere"
    assert render_operator(DeskLine("", "bob\r", "x\x07", "s")) == ["bob\ufffd: x\ufffd"]
    # Before: every invisible format character went too, breaking emoji sequences apart
    assert render_operator(DeskLine("", "dana", "thanks 👨‍👩‍👧", "s")) == ["dana: thanks 👨‍👩‍👧"]


def make_ids() -> object:
    counter = itertools.count(1)
    return lambda: f"i{next(counter)}"


def parse(line: str) -> object:
    counter = itertools.count(1)
    return parse_operator_line(line, lambda: f"i{next(counter)}", ALL_TOPICS, "s-1")


def test_operator_commands() -> None:
    assert parse(".room").message == DeskRoomRequest("i1")  # type: ignore[attr-defined]
    assert parse(".end").message == DeskEnd("i1", "s-1")  # type: ignore[attr-defined]
    assert parse(".serve 1,3").message == DeskServe("i1", (1, 3))  # type: ignore[attr-defined]
    assert parse(".serve all").message == DeskServe("i1", ALL_TOPICS)  # type: ignore[attr-defined]
    assert parse(".serve none").message == DeskServe("i1", ())  # type: ignore[attr-defined]
    assert "all topics" in parse(".serve").lines[0]  # type: ignore[attr-defined]
    assert "Usage" in parse(".serve 9").lines[0]  # type: ignore[attr-defined]
    assert ".room" in "\n".join(parse(".help").lines)  # type: ignore[attr-defined]
    assert parse(".quit").quit  # type: ignore[attr-defined]
    assert "Unknown command" in parse(".bogus").lines[0]  # type: ignore[attr-defined]
    assert parse("hello").message == DeskLine("i1", "", "hello", "s-1")  # type: ignore[attr-defined]
    assert parse("..end").message == DeskLine("i1", "", ".end", "s-1")  # type: ignore[attr-defined]
    assert parse("   ").message is None  # type: ignore[attr-defined]
    assert "at most 2000 go in one" in parse("x" * 5000).lines[0]  # type: ignore[attr-defined]
    assert is_operator_command(".room") and is_operator_command(".serve 1")
    assert not is_operator_command("hello") and not is_operator_command(".quit")
    assert parse(".first 3").message == DeskFirst("i1", 3)  # type: ignore[attr-defined]
    assert parse(".first  Maria Lopez ").message == DeskFirst(  # type: ignore[attr-defined]
        "i1", 0, "Maria Lopez"
    )
    for wrong in (".first", ".first 0", ".first -1", ".first \uff13", ".first " + "x" * 65):
        assert "Usage: .first 3" in parse(wrong).lines[0]  # type: ignore[attr-defined]
    assert is_operator_command(".first 2")  # the registry console's too
    assert ".first 3" in "\n".join(parse(".help").lines)  # type: ignore[attr-defined]


def test_parse_topics() -> None:
    assert parse_topics("3, 1 3") == (1, 3)
    assert parse_topics("0") is None
    assert parse_topics("") is None
    assert parse_topics("ALL") == parse_topics("all") and parse_topics("None") == ()


def test_what_the_person_and_operator_see() -> None:
    queued = DeskQueued("", "", "tok", 2, 2, 0, 120, False, EST_NOBODY, 0, 0)
    lines = render_person(queued)
    assert lines[0].startswith("[No operator is on duty")
    assert "number 2 in the queue" in lines[1]
    assert (
        "number 1 in the queue: you are next"
        in render_person(DeskPosition("", 1, 1, EST_TYPICAL, 0, 0))[0]
    )
    session = DeskSession("", "s1", "Alice", "+447700900123", 3, "maths", 65, "", ())
    shown = "\n".join(render_operator(session))
    assert "+447700900123" in shown and "3 Weak in Academics" in shown and "maths" in shown
    room = DeskRoom(
        "", "", ("Alice", "Bob"), (1, 2), ("***23", "***45"), (5, 70), (True, False), ("", "")
    )
    table = render_operator(room)
    assert table[0] == "[Waiting room: 2 people]"
    assert "1 Depression" in table[1] and "***23" in table[1]
    assert "place held" in table[2] and "1 min 10 s" in table[2]
    assert render_operator(DeskRoom("", "", (), (), (), (), (), ())) == [
        "[The waiting room is empty.]"
    ]


def test_a_crisis_notice_of_several_lines_shows_each_line_marked() -> None:
    configured = "  If you are in danger now, call 999.  \r\n\n\tSamaritans: 116 123\x1b[2J\n"
    notice = clean_crisis_notice(configured)
    assert notice == "If you are in danger now, call 999.\nSamaritans: 116 123\ufffd[2J"
    assert render_person(DeskCrisis("c-1", notice)) == [
        "!!! If you are in danger now, call 999.",
        "!!! Samaritans: 116 123\ufffd[2J",
    ]


def test_a_crisis_notice_is_bounded_and_an_empty_one_shows_the_default() -> None:
    many = "\n".join(f"line {i}" for i in range(50))
    assert len(clean_crisis_notice(many).splitlines()) == MAX_CRISIS_LINES
    assert len(clean_crisis_notice("x" * 5000)) == MAX_CRISIS_NOTICE
    assert clean_crisis_notice(" \n \n") == ""
    assert crisis_lines("") == [f"!!! {line}" for line in DEFAULT_CRISIS_NOTICE.splitlines()]
    # a notice from the wire is shown line by line too, and never longer
    assert len(crisis_lines(many)) == MAX_CRISIS_LINES


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
    room = DeskRoom(
        "", "", names, topics, ("***23",) * count, (5,) * count, (True,) * count, ("",) * count
    )
    rows = render_operator(room)[1:]
    labels = [topic_label(t) for t in topics]
    # where each row's topic starts, in columns: the same for every row
    starts = {
        row.index(label) - len(name) + columns[name]
        for row, label, name in zip(rows, labels, names, strict=True)
    }
    assert len(starts) == 1
    assert len({width(row[: row.index("waited")]) for row in rows}) == 1


@pytest.mark.parametrize(
    "text",
    [
        "I want to kill myself",
        "thinking about SUICIDE",
        "i feel suicidal lately",
        "I might end my life",
        "self-harm again",
        "I keep cutting myself",
        "I just wanna die",
        "I don't want to live anymore",
        "took an overdose",
        # found by the desk tester
        "I do not want to live anymore",
        "everyone would be better off dead",
        "there is no reason to live",
        "kms lol exams",
        "I want to end it all",
    ],
)
def test_words_of_someone_in_danger_are_recognised(text: str) -> None:
    assert speaks_of_crisis(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "weak in maths",
        "killing time before exams",
        "my life is busy",
        "diet plans",
        "harmless",
        "the end of it all is near: exams",
    ],
)
def test_ordinary_descriptions_are_not_taken_for_a_crisis(text: str) -> None:
    assert not speaks_of_crisis(text)


def _read_minutes(text: str) -> tuple[int, int]:
    """(low, high) minutes as an estimate reads to a person."""
    text = text.partition(",")[0]  # where it comes from follows
    if text == "less than a minute":
        return 0, 0
    if text.startswith("about "):
        minutes = int(text.split()[1])
        return minutes, minutes
    low, high = text.removesuffix(" min").split("-")
    return int(low), int(high)


@given(
    st.integers(0, 10_000),
    st.integers(0, 10_000),
    st.integers(0, 600),
    st.integers(0, 600),
)
def test_an_estimate_that_grows_never_reads_shorter(
    low: int, high: int, more_low: int, more_high: int
) -> None:
    high = max(low, high)
    before = _read_minutes(format_estimate(EST_MEASURED, low, high))
    after = _read_minutes(
        format_estimate(EST_MEASURED, low + more_low, high + more_low + more_high)
    )
    assert before[0] <= before[1] and after[0] <= after[1]
    assert after[0] >= before[0] and after[1] >= before[1]
