"""What the help desk accepts and says: the menu, crisis words and notices, durations and
estimates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wire.desk.messages import EST_MEASURED, EST_NOBODY, EST_TYPICAL
from wire.desk.text import (
    DEFAULT_CRISIS_NOTICE,
    MAX_CRISIS_LINES,
    MAX_CRISIS_NOTICE,
    clean_crisis_notice,
    crisis_lines,
    format_duration,
    format_estimate,
    menu_lines,
    speaks_of_crisis,
    topic_problem,
)


def test_the_menu_has_the_six_topics() -> None:
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


def test_a_crisis_notice_is_bounded_and_an_empty_one_shows_the_default() -> None:
    many = "\n".join(f"line {i}" for i in range(50))
    assert len(clean_crisis_notice(many).splitlines()) == MAX_CRISIS_LINES
    assert len(clean_crisis_notice("x" * 5000)) == MAX_CRISIS_NOTICE
    assert clean_crisis_notice(" \n \n") == ""
    assert crisis_lines("") == [f"!!! {line}" for line in DEFAULT_CRISIS_NOTICE.splitlines()]
    # a notice from the wire is shown line by line too, and never longer
    assert len(crisis_lines(many)) == MAX_CRISIS_LINES


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
