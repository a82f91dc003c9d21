"""An operator's command line: what each typed line means."""

from __future__ import annotations

import itertools

from wire.desk.commands import is_operator_command, parse_operator_line, parse_topics
from wire.desk.messages import DeskEnd, DeskFirst, DeskLine, DeskLook, DeskServe
from wire.desk.text import ALL_TOPICS


def make_ids() -> object:
    counter = itertools.count(1)
    return lambda: f"i{next(counter)}"


def parse(line: str) -> object:
    counter = itertools.count(1)
    return parse_operator_line(line, lambda: f"i{next(counter)}", ALL_TOPICS, "s-1")


def test_operator_commands() -> None:
    assert parse(".room").message == DeskLook("i1")  # type: ignore[attr-defined]
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


def test_a_command_written_with_a_space_after_its_dot_is_that_command() -> None:
    # the help desk's own description writes the waiting room's command as ". room"
    assert parse(". room").message == DeskLook("i1")  # type: ignore[attr-defined]
    assert parse(".  serve 1,3").message == DeskServe("i1", (1, 3))  # type: ignore[attr-defined]
    assert "Unknown command .dance" in parse(". dance").lines[0]  # type: ignore[attr-defined]
    assert is_operator_command(". room") and not is_operator_command(". quit")
    assert parse(".").message is None and parse(". ").message is None  # type: ignore[attr-defined]
