"""The terminal console's pure parts: tab completion, the bell rule, colours of a line."""

from __future__ import annotations

import asyncio
import io

import pytest

from peer.adapter import terminal
from peer.adapter.terminal import (
    PREFIX,
    PlainConsole,
    Sources,
    completions,
    mentions,
    rings,
)
from peer.core.actions import Print
from peer.core.change_lines import TABLE_UPDATED

NAMES = ["alice", "bob", "Bobby"]
ROOMS = ["lobby", "teamchat"]


def complete(before: str, in_room: bool = False, question: str = "") -> list[str]:
    room = "teamchat" if in_room else ""
    sources = Sources(
        me=lambda: "carol",
        names=lambda: NAMES,
        room=lambda: room,
        rooms=lambda: ROOMS,
        question=lambda: question,
    )
    return completions(before, sources)


@pytest.mark.parametrize(
    ("before", "in_room", "expected"),
    [
        ("/jo", False, ["/join "]),
        ("se", False, ["send ", "send_all ", "sendfile ", "server:exit ", "server:who "]),
        ("/n", False, ["/nick ", "/nickname ", "/nicknames "]),
        ("al", False, ["alice:"]),
        ("b", False, ["bob:", "Bobby:"]),
        ("send b", False, ["bob ", "Bobby "]),
        ("/dm a", False, ["alice "]),
        ("join t", False, ["teamchat"]),
        ("/join ", False, ["lobby", "teamchat"]),
        ("dereg ", False, ["carol"]),
        ("/help ni", False, ["nick", "nickname", "nicknames"]),
        ("send alice hello b", False, ["bob ", "Bobby "]),
        # in a room: only / commands, leave and names (mentions)
        ("/le", True, ["/leave "]),
        ("le", True, ["leave"]),
        ("se", True, []),
        ("hey al", True, ["alice "]),
        ("al", True, ["alice "]),
        ("join t", True, []),  # room text, not a command
        ("/join t", True, ["teamchat"]),
        # nothing more to add
        ("send ", False, ["alice ", "bob ", "Bobby "]),
        ("zz", False, []),
    ],
)
def test_completions(before: str, in_room: bool, expected: list[str]) -> None:
    assert complete(before, in_room) == expected


@pytest.mark.parametrize(
    ("before", "question", "expected"),
    [
        # found by trying it: at `message to:` Tab gave `bob:`, the command line's form
        ("b", "recipient", ["bob", "Bobby"]),
        ("", "recipient", ["alice", "bob", "Bobby"]),
        ("se", "recipient", []),  # no command words: the answer is a name
        ("bob al", "recipient", []),  # a name is one word
        ("se", "text", []),
        ("hi b", "text", ["bob ", "Bobby "]),  # the text: names as mentions
        ("b", "text", ["bob ", "Bobby "]),
    ],
)
def test_at_a_question_of_message_only_names_complete(
    before: str, question: str, expected: list[str]
) -> None:
    for in_room in (False, True):
        assert complete(before, in_room, question) == expected


def test_a_word_already_complete_is_not_offered_again() -> None:
    assert "send " not in complete("send")
    assert complete("/join teamchat") == []


@pytest.mark.parametrize(
    ("line", "me", "expected"),
    [
        (Print("bob: hi", "message", "bob"), "carol", True),  # a direct message
        (Print("bob: 2026-01-01 10:00:00 stored", "message", "bob"), "carol", True),
        (Print("bob (in r): hi carol!", "room", "bob"), "carol", True),  # a mention
        (Print("bob (in r): hi CAROL", "room", "bob"), "carol", True),
        (Print("bob (in r): hi everyone", "room", "bob"), "carol", False),
        (Print("bob (in r): caroline is here", "room", "bob"), "carol", False),
        (Print("carol (in r): about me", "room", "carol"), "carol", False),  # name, not text
        (Print("[history 10:00] bob (in r): hi carol", "history", "bob"), "carol", False),
        (Print("[Channel_Message bob: hi carol]", "channel", "bob"), "carol", False),
        (Print("[bob joined r]", "system"), "bob", False),
    ],
)
def test_the_bell_rings_on_direct_messages_and_mentions_in_rooms(
    line: Print, me: str, expected: bool
) -> None:
    assert rings(line, me) is expected


def test_mentions_are_whole_words() -> None:
    assert mentions("hi bob.", "bob") and mentions("@bob hi", "bob") and mentions("bob", "bob")
    assert not mentions("bobby", "bob") and not mentions("jim-bob", "bob")
    assert not mentions("anything", "")


def fragments(line: Print, colour: bool) -> list[tuple[str, str]]:
    """The line's parts, each sender's name in the colour named after it."""
    return terminal.fragments(line, colour, lambda name: f"colour of {name}")


def test_no_colour_is_the_plain_line() -> None:
    line = Print("bob (in r): hi", "room", "bob")
    assert fragments(line, colour=False) == [("", PREFIX + "bob (in r): hi")]


@pytest.mark.parametrize(
    ("line", "name_part"),
    [
        (Print("bob: hi", "message", "bob"), ("", "bob", ": hi")),
        (Print("bob (in r): hi", "room", "bob"), ("", "bob", " (in r): hi")),
        (
            Print("[history 10:00] bob (in r): x", "history", "bob"),
            ("[history 10:00] ", "bob", " (in r): x"),
        ),
        (
            Print("[Channel_Message bob: hi]", "channel", "bob"),
            ("[Channel_Message ", "bob", ": hi]"),
        ),
        (Print("  bob  online", "info", "bob"), ("  ", "bob", "  online")),
    ],
)
def test_the_name_is_coloured_where_it_stands(line: Print, name_part: tuple[str, str, str]) -> None:
    parts = fragments(line, colour=True)
    assert parts[0] == ("ansibrightblack", PREFIX)
    texts = [t for _, t in parts[1:]]
    assert "".join(texts) == line.text
    before, who, after = name_part
    assert texts == [t for t in (before, who, after) if t]
    coloured = [style for style, t in parts if t == who]
    assert coloured == ["colour of bob bold"]


def test_system_lines_are_dimmed_and_errors_red() -> None:
    assert fragments(Print(TABLE_UPDATED, "system"), True)[1] == (
        "ansibrightblack",
        TABLE_UPDATED,
    )
    assert fragments(Print("[No user named x.]", "error"), True)[1][0] == "ansired bold"


def test_a_name_inside_the_text_is_not_taken_for_the_sender() -> None:
    parts = fragments(Print("bobby: hi bob", "message", "bob"), colour=True)
    assert [t for _, t in parts] == [PREFIX, "bobby: hi bob"]


@pytest.mark.parametrize("colour", [True, False])
def test_what_could_drive_the_terminal_is_shown_as_a_replacement(colour: bool) -> None:
    line = Print("bob: \x1b[2Jgone\rcarol: forged\x07", "message", "bob")
    shown = "".join(t for _, t in fragments(line, colour))
    assert shown == PREFIX + "bob: \ufffd[2Jgone\ufffdcarol: forged\ufffd"


def test_the_plain_console_shows_the_same_cleaned_line(capsys: pytest.CaptureFixture[str]) -> None:
    PlainConsole().show(Print("bob: one\nbob: two 👨‍👩‍👧", "message", "bob"))
    assert capsys.readouterr().out == PREFIX + "bob: one\ufffdbob: two 👨‍👩‍👧\n"


class _Writes(io.StringIO):
    """Standard output that counts its writes."""

    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


@pytest.mark.timeout(10)
def test_the_plain_consoles_lines_of_one_pass_leave_in_one_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = _Writes()
    monkeypatch.setattr("sys.stdout", out)

    async def main() -> list[str]:
        console = PlainConsole()
        for n in range(3):
            console.show(Print(f"[Channel_Message bob: line {n}]", "channel", "bob"))
        seen = [out.getvalue()]  # nothing yet: the pass goes on
        written = asyncio.get_running_loop().create_future()
        console.after_printed(lambda: written.set_result(out.getvalue()))
        seen.append(await asyncio.wait_for(written, 5))
        return seen

    before, after = asyncio.run(main())
    assert before == ""
    assert after == "".join(f"{PREFIX}[Channel_Message bob: line {n}]\n" for n in range(3))
    assert out.writes == 1
