"""The registry console's full screen, headless (keys through a pipe, the drawing through
pyte): log lines in the log's window, the desk's lines in the desk's without their mark, a
line for the desk shows its window while a /command stays where it is, the waiting room
beside, and the status bar's address, peers online and stored messages."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from types import SimpleNamespace

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import PipeInput, create_pipe_input

from registry.adapter.console_screen import ConsoleScreen
from tests.pyte_terminal import Terminal
from wire.desk.messages import RoomRow

pytestmark = pytest.mark.timeout(20)


class Console:
    def __init__(self, screen: ConsoleScreen, terminal: Terminal, pipe: PipeInput) -> None:
        self.screen, self.terminal, self.pipe = screen, terminal, pipe
        self.serving = False
        self.rows: Sequence[RoomRow] | None = ()
        self.typed: list[str] = []

    async def until(self, what: str, ok: Callable[[list[str]], bool]) -> None:
        await self.terminal.until(self.screen.app, what, ok)

    async def sees(self, text: str) -> None:
        await self.terminal.sees(self.screen.app, text)


@contextlib.asynccontextmanager
async def console() -> AsyncIterator[Console]:
    terminal = Terminal(24, 80)
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=terminal.output):
        state = SimpleNamespace(  # (the registry's console, as the screen asks it)
            listening=lambda: "127.0.0.1:17001",
            online=lambda: 2,
            stored=lambda: 3,
            room_rows=lambda: shown.rows,
            to_desk=lambda line: not line.startswith("/") and shown.serving,
        )
        screen = ConsoleScreen(state, colour=False)  # type: ignore[arg-type]
        shown = Console(screen, terminal, pipe)
        screen.print_above([("", "ChatApp registry listening on 127.0.0.1:17001")])  # before
        screen.start(shown.typed.append, lambda: None)
        screen.set_prompt("registry> ")
        await shown.sees("[1:log]")
        try:
            yield shown
        finally:
            await screen.stop()


def test_the_log_and_the_desk_each_have_a_window() -> None:
    async def scenario() -> None:
        async with console() as reg:
            reg.screen.print_above([("", "16:14:02 desk: Tom joined for topic 4")])
            reg.screen.print_above([("", "desk: [On duty as admin, serving all topics.]")])
            await reg.sees(" [1:log] 2:desk(1)")
            reg.screen.print_above([("", "desk: [Now serving Tom, phone 555, topic 4.]")])
            await reg.sees(" 1:log [2:desk]")  # handed over: the desk's window shown
            reg.pipe.send_text("\x1b1")
            await reg.sees(" [1:log] 2:desk")
            rows = reg.terminal.rows
            assert rows[0].startswith(" log │ registry 127.0.0.1:17001 │ 2 online │ 3 stored")
            assert rows[1].startswith("ChatApp registry listening")  # printed before it began
            assert rows[2].startswith("16:14:02 desk: Tom joined")
            reg.serving = True
            reg.screen.set_prompt("to Tom> ")
            reg.pipe.send_text("hello Tom\r")  # to the person served: the desk's window
            await reg.sees(" 1:log [2:desk]")
            await reg.until("echoed it", lambda rows: rows[3].startswith("to Tom> hello Tom"))
            assert reg.terminal.rows[2].startswith("[Now serving Tom")  # without `desk: `
            reg.pipe.send_text("\x1b1/who\r")  # a /command: the window shown
            await reg.until("echoed it", lambda rows: rows[3].startswith("to Tom> /who"))
            assert reg.typed == ["hello Tom", "/who"]

    asyncio.run(scenario())


def test_window_n_typed_shows_that_window_as_on_a_peer_s_screen() -> None:
    """Found by trying it: `/window 1` was an unknown command here, and a line to the person
    served while they were; the keys switched windows, as on a peer's screen."""

    async def scenario() -> None:
        async with console() as reg:
            reg.screen.print_above([("", "desk: [Now serving Tom, phone 555, topic 4.]")])
            await reg.sees(" 1:log [2:desk]")
            reg.serving = True
            reg.pipe.send_text("/window 1\r")
            await reg.sees(" [1:log] 2:desk")
            reg.pipe.send_text("/window 3\r")
            await reg.sees("[No window 3: Alt+1 to Alt+9, or /window N.]")
            assert reg.typed == []

    asyncio.run(scenario())


def test_the_waiting_room_is_live_beside_the_log() -> None:
    async def scenario() -> None:
        async with console() as reg:
            await reg.sees("│ nobody")
            reg.rows = [RoomRow("Maria", 5, "***67", 3, True, "", "", 0)]
            await reg.sees("│ 1. Maria 3 s")
            await reg.sees("│ 1 waiting")
            reg.rows = None  # no help desk here
            await reg.sees("│ not known yet")

    asyncio.run(scenario())
