"""The peer's full screen, headless: its keys come through a pipe, and what it draws goes
through pyte, a terminal emulator, so that each test reads the screen a person would see.
Which window each line goes to is read from the line (`where`), tested here as a table."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import PipeInput, create_pipe_input

from peer.adapter.screen_console import (
    CHANNEL,
    HIDDEN,
    NOTICES,
    ScreenConsole,
    person_colour,
    typed_where,
    where,
)
from peer.adapter.terminal import NAME_COLOURS, Sources
from peer.core.actions import Print
from peer.core.change_lines import TABLE_UPDATED
from tests.pyte_terminal import Terminal

pytestmark = pytest.mark.timeout(20)


@pytest.mark.parametrize(
    ("line", "window"),
    [
        (Print("bob: hi", "message", "bob"), "@bob"),
        (Print("[Channel_Message bob: hi]", "channel", "bob"), CHANNEL),
        (Print("Channel_Message bob: 10:00 hi", "message", "bob"), CHANNEL),
        (Print("bob (in Lab): hi (in here)", "room", "bob"), "#Lab"),
        (Print("* bob waves (in lab)", "room", "bob"), "#lab"),
        (Print("[history 10:15] bob (in lab): hi", "history", "bob"), "#lab"),
        (Print("[bob is online]"), NOTICES),
        (Print("[Welcome, You are registered.]"), NOTICES),
        (Print("[You joined Lab (a new room)]"), "#Lab"),
        (Print("[bob left lab]"), "#lab"),
        (Print("[You left lab.]"), "#lab"),
        (Print("[Back to lab, the room you were in.]"), "#lab"),
        (Print("[Server not responding]"), NOTICES),
        (Print("[4 people went offline: a, b, c, d]"), NOTICES),
        (Print("[bob is now known as robert]"), NOTICES),
        (Print(TABLE_UPDATED), HIDDEN),
        (Print("[big.bin from bob: 40% (12.0 MB of 30.0 MB)]", "info"), HIDDEN),
        (Print("[Message received by bob.]"), "@bob"),
        (Print("[No ACK from bob, message sent to server.]"), "@bob"),
        (Print("[Message received by Server.]"), ""),
        (Print("[Unknown command frob: ...]", "error"), ""),
    ],
)
def test_each_line_goes_to_the_window_of_its_conversation(line: Print, window: str) -> None:
    assert where(line) == window


def test_a_typed_command_names_its_window() -> None:
    assert typed_where("send Bob hi", room="") == "@Bob"
    assert typed_where("/send_all hi", room="lab") == CHANNEL
    assert typed_where("join lab", room="") == "#lab"
    assert typed_where("hello all", room="lab") == "#lab"
    assert typed_where("who", room="") == ""


def test_a_room_line_typed_as_a_command_shows_the_rooms_window() -> None:
    """`/shrug` says a line in the room as `/me` does: typed in another window, the room's
    window is shown, where the line appears."""
    assert typed_where("/me waves", room="lab") == "#lab"
    assert typed_where("/shrug oh well", room="lab") == "#lab"
    assert typed_where("/shrug", room="lab") == "#lab"
    assert typed_where("/shrug oh well", room="") == ""  # outside a room: the usage, here


def test_a_persons_colour_is_the_names_alone_and_never_red() -> None:
    assert person_colour("Bob") == person_colour("bob")
    assert all("red" not in colour for colour in NAME_COLOURS)


class Peer:
    """A ScreenConsole on a Terminal, with a table, transfers and lines typed as given."""

    def __init__(self, console: ScreenConsole, terminal: Terminal, pipe: PipeInput) -> None:
        self.console, self.terminal, self.pipe = console, terminal, pipe
        self.people: list[tuple[str, bool, str]] = [("alice", True, ""), ("bob", True, "")]
        self.transfers: list[tuple[int, str, int, int]] = []
        self.typed: list[str] = []
        self.room = ""
        self.sources = Sources(
            me=lambda: "alice",
            names=lambda: [n for n, on, _ in self.people if on],
            people=lambda: self.people,
            room=lambda: self.room,
            registry=lambda: "127.0.0.1:22000",
            answers=lambda: True,
            transfers=lambda: self.transfers,
        )
        console.bind(self.sources)

    def show(self, text: str, style: str = "system", who: str = "") -> None:
        self.console.show(Print(text, style, who))

    async def until(self, what: str, ok: Callable[[list[str]], bool]) -> None:
        await self.terminal.until(self.console.app, what, ok)

    async def sees(self, text: str) -> None:
        await self.terminal.sees(self.console.app, text)


@contextlib.asynccontextmanager
async def screen(rows: int = 24, columns: int = 80, colour: bool = True) -> AsyncIterator[Peer]:
    terminal = Terminal(rows, columns)
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=terminal.output):
        console = ScreenConsole(colour=colour, bell=False)
        peer = Peer(console, terminal, pipe)
        console.start(peer.typed.append, lambda: None)
        console.set_prompt("alice> ")
        await peer.sees("[1:registry]")
        try:
            yield peer
        finally:
            await console.stop()


def test_windows_open_and_switch_and_unread_marks_come_and_go() -> None:
    async def scenario() -> None:
        async with screen() as peer:
            peer.show("bob (in lab): hello alice", "room", "bob")
            peer.show("carol: psst", "message", "carol")
            await peer.sees(" [1:registry] 2:lab(1!) 3:carol(1!)")
            peer.pipe.send_text("\x1b2")  # Alt+2
            await peer.sees(" 1:registry [2:lab] 3:carol(1!)")
            assert any(row.startswith("bob: hello alice") for row in peer.terminal.rows)
            peer.pipe.send_text("\x0e")  # Ctrl+N
            await peer.sees(" 1:registry 2:lab [3:carol]")
            peer.pipe.send_text("/window 1\r")
            await peer.sees(" [1:registry] 2:lab 3:carol")
            peer.pipe.send_text("send dave hi\r")  # a command naming a window opens it
            await peer.sees("[4:dave]")
            peer.pipe.send_text("/query erin\r")  # as IRC's: her window, and the text asked
            await peer.sees("[5:erin]")
            assert peer.typed == ["send dave hi", "/query erin"]

    asyncio.run(scenario())


def test_a_line_typed_in_a_persons_window_goes_to_them_and_a_command_stays_one() -> None:
    async def scenario() -> None:
        async with screen() as peer:
            peer.room = "lab"  # a room's lines go there from its window, not from bob's
            peer.show("bob: psst", "message", "bob")
            peer.pipe.send_text("\x1b2")  # Alt+2
            await peer.until("the prompt to bob", lambda rows: rows[-1] == "alice to bob>")
            peer.pipe.send_text("hi there\r")
            peer.pipe.send_text("/who\r")
            await peer.until("both lines", lambda rows: len(peer.typed) == 2)
            assert peer.typed == ["/send bob hi there", "/who"]
            echoed = "the line in bob's window"
            await peer.until(echoed, lambda rows: rows[2].startswith("alice to bob> hi there"))
            # a command's word alone goes to bob too, as in a room, and says how commands go
            peer.pipe.send_text("who\r")
            await peer.until("the third line", lambda rows: len(peer.typed) == 3)
            assert peer.typed[2] == "/send bob who"
            await peer.sees("[Sent to bob as text; in bob's window, commands need")
            peer.pipe.send_text("\x1b1")  # the registry's window: the prompt as the peer says
            await peer.until("alice's prompt", lambda rows: rows[-1] == "alice>")

    asyncio.run(scenario())


def test_a_persons_window_follows_their_rename() -> None:
    async def scenario() -> None:
        async with screen() as peer:
            peer.show("bob: psst", "message", "bob")
            peer.pipe.send_text("\x1b2")  # Alt+2
            await peer.until("the prompt to bob", lambda rows: rows[-1] == "alice to bob>")
            peer.show("[bob is now known as robert]")  # the news of the table
            await peer.until("the prompt to robert", lambda rows: rows[-1] == "alice to robert>")
            peer.pipe.send_text("still there?\r")
            await peer.until("the line", lambda rows: len(peer.typed) == 1)
            assert peer.typed == ["/send robert still there?"]
            peer.show("robert: yes", "message", "robert")
            await peer.until("robert's line", lambda rows: rows[3].startswith("robert: yes"))
            await peer.sees(" 1:registry [2:robert]")  # one window: robert's line in it

    asyncio.run(scenario())


def test_close_closes_the_window_shown_and_never_the_first() -> None:
    async def scenario() -> None:
        async with screen() as peer:
            peer.show("bob: psst", "message", "bob")
            peer.show("carol: hi", "message", "carol")
            peer.pipe.send_text("\x1b2/close\r")  # Alt+2: bob's window, closed
            await peer.sees(" [1:registry] 2:carol(1!)")
            peer.pipe.send_text("/close\r")  # window 1 stays, and says so
            await peer.sees("[Window 1 is always open; /close closes the others.]")
            peer.show("bob: still here", "message", "bob")  # his next line opens it anew
            await peer.sees(" [1:registry] 2:carol(1!) 3:bob(1!)")
            assert peer.typed == []  # the program was told nothing

    asyncio.run(scenario())


def test_a_shrug_typed_in_a_persons_window_is_said_in_the_room_and_shown_there() -> None:
    async def scenario() -> None:
        async with screen() as peer:
            peer.room = "lab"
            peer.show("bob: psst", "message", "bob")
            peer.pipe.send_text("\x1b2")  # Alt+2: bob's window
            await peer.until("the prompt to bob", lambda rows: rows[-1] == "alice to bob>")
            peer.pipe.send_text("/shrug oh well\r")
            await peer.until("the line", lambda rows: len(peer.typed) == 1)
            assert peer.typed == ["/shrug oh well"]  # the command, not a message to bob
            await peer.sees("[3:lab]")
            peer.show("bob (in lab): fine ¯\\_(ツ)_/¯", "room", "bob")
            await peer.until(
                "the shrug", lambda rows: any(r.startswith("bob: fine ¯\\_(ツ)_/¯") for r in rows)
            )

    asyncio.run(scenario())


OFF = "Offline"


def test_the_list_of_people_follows_the_table() -> None:
    async def scenario() -> None:
        async with screen() as peer:
            await peer.until("listed bob online", lambda rows: rows[3].endswith("│ bob"))
            peer.people = [("alice", True, ""), ("bob", False, "")]
            peer.show(TABLE_UPDATED)  # not a line: the list says it
            await peer.until(
                "listed bob offline",
                lambda rows: (
                    [r.split("│")[-1] for r in rows[1:4]] == ["Online", " alice", "Offline"]
                ),
            )
            assert not any("Client table updated" in row for row in peer.terminal.rows)
            peer.people = [("alice", True, "lunch"), ("bob", False, "")]
            peer.show(TABLE_UPDATED)
            await peer.until("listed alice away", lambda rows: rows[2].endswith("│ alice (away)"))

    asyncio.run(scenario())


def test_a_transfer_is_one_bar_that_moves() -> None:
    async def scenario() -> None:
        async with screen() as peer:
            peer.transfers = [(1, "big.bin from bob", 0, 30_000_000)]
            await peer.sees(" big.bin from bob ░░░░░░░░░░░░░░░░░░░░   0%  waiting")
            peer.transfers = [(1, "big.bin from bob", 15_000_000, 30_000_000)]
            peer.show("[big.bin from bob: 50% (15.0 MB of 30.0 MB)]", "info")  # the bar says it
            await peer.sees(" big.bin from bob ██████████░░░░░░░░░░  50%  ")
            assert any("MB/s" in row and "left" in row for row in peer.terminal.rows)
            assert not any("[big.bin" in row for row in peer.terminal.rows)

    asyncio.run(scenario())


def test_a_long_line_wraps_between_words_beside_the_people() -> None:
    async def scenario() -> None:
        async with screen() as peer:
            words = "the meeting moved to the large room on the fourth floor at noon, bring"
            peer.show(f"[Channel_Message bob: {words} the slides and a laptop]", "channel", "bob")
            peer.pipe.send_text("\x1b2")
            await peer.sees("slides and a laptop]")
            rows = [row.split("│")[0].rstrip() for row in peer.terminal.rows]
            start = next(i for i, row in enumerate(rows) if "bob: the meeting" in row)
            assert rows[start].endswith(" on the")  # 64 columns beside the people: "…on the f"
            assert rows[start + 1].startswith("fourth floor")  # would be cut; the word is whole

    asyncio.run(scenario())


def test_ctrl_c_clears_the_draft_and_up_brings_it_back() -> None:
    async def scenario() -> None:
        async with screen() as peer:
            peer.pipe.send_text("half a thought")
            await peer.sees("alice> half a thought")
            peer.pipe.send_text("\x03")
            await peer.sees("[Line cleared; Up brings it back.")
            await peer.until("cleared the line", lambda rows: rows[-1] == "alice>")
            peer.pipe.send_text("\x1b[A")  # Up
            await peer.sees("alice> half a thought")
            assert peer.typed == []

    asyncio.run(scenario())


def test_a_line_typed_while_lines_arrive_stays_whole() -> None:
    async def scenario() -> None:
        async with screen() as peer:
            peer.pipe.send_text("send bob the first half")
            for n in range(300):
                peer.show(f"[Channel_Message carol: line {n}]", "channel", "carol")
                if n % 50 == 0:
                    await asyncio.sleep(0)
            peer.pipe.send_text(" and the second half")
            whole = "alice> send bob the first half and the second half"
            await peer.until("kept the line whole", lambda rows: rows[-1] == whole)
            peer.pipe.send_text("\r")
            await peer.sees("[3:bob]")
            assert peer.terminal.rows[1].startswith(whole)  # echoed in bob's window
            assert peer.typed == ["send bob the first half and the second half"]

    asyncio.run(scenario())


def test_80x24_and_a_resize_stay_readable_and_no_color_draws_no_colour() -> None:
    async def scenario() -> None:
        async with screen(colour=False) as peer:
            for n in range(40):
                peer.show(f"bob: a long line {n} " + "words " * 20, "message", "bob")
            peer.pipe.send_text("\x1b2")
            await peer.until("drew the newest line", lambda rows: "words" in rows[-4])
            assert peer.terminal.rows[0].startswith(" bob │ alice │ registry 127.0.0.1:22000")
            peer.terminal.resize(16, 50)
            peer.console.app.invalidate()  # drawn anew at its new size, as on SIGWINCH
            await peer.until(
                "fit 50 columns",
                lambda rows: len(rows) == 16 and rows[-2].startswith(" 1:registry [2:bob]"),
            )
            assert rows_fit(peer.terminal.rows, 50)
            assert "│" not in "".join(peer.terminal.rows[1:-2])  # no list of people: too narrow
            drawn = "".join(peer.terminal.written)
            assert "\x1b[38" not in drawn and "\x1b[3" + "1m" not in drawn

    asyncio.run(scenario())


def rows_fit(rows: list[str], columns: int) -> bool:
    return all(len(row) <= columns for row in rows)


def test_quitting_asks_first_and_the_answer_stays_in_its_window() -> None:
    async def scenario() -> None:
        async with screen() as peer:
            losing = lambda: ["1 message waits"]  # noqa: E731
            peer.console.bind(replace(peer.sources, names=list, losing=losing))
            peer.room = "lab"
            peer.show("bob (in lab): hi", "room", "bob")
            peer.pipe.send_text("\x04")  # Ctrl-D on the empty line
            await peer.sees("Quit? 1 message waits. [y/N]")
            peer.pipe.send_text("n\r")
            await peer.sees("[Not quitting.]")
            assert peer.terminal.rows[-2].startswith(" [1:registry] 2:lab(1)")
            assert peer.typed == []

    asyncio.run(scenario())
