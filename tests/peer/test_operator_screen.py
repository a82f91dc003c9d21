"""The operator's full screen, headless (keys through a pipe, the drawing through pyte): a
person handed over opens the conversation's window, the desk's notices stay in its own,
the waiting room pane shows each person's position, topic and wait, and the status bar
says who, where and how many wait. The pane itself: tests/terminal/test_waiting_room.py."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import PipeInput, create_pipe_input

from peer.adapter.desk.terminal import TYPED, OperatorScreen
from peer.core.desk.duty import OperatorCore
from tests.pyte_terminal import Terminal
from wire.base import IdMaker
from wire.desk.messages import DeskLine, DeskNotice, DeskSession, RoomRow

pytestmark = pytest.mark.timeout(20)


class Duty:
    """An OperatorScreen on a Terminal, for the operator `core`."""

    def __init__(
        self, screen: OperatorScreen, terminal: Terminal, pipe: PipeInput, core: OperatorCore
    ) -> None:
        self.screen, self.terminal, self.pipe, self.core = screen, terminal, pipe, core
        self.typed: list[str] = []

    async def until(self, what: str, ok: Callable[[list[str]], bool]) -> None:
        await self.terminal.until(self.screen.app, what, ok)

    async def sees(self, text: str) -> None:
        await self.terminal.sees(self.screen.app, text)


@contextlib.asynccontextmanager
async def duty() -> AsyncIterator[Duty]:
    terminal = Terminal(24, 80)
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=terminal.output):
        core = OperatorCore("ann", ("127.0.0.1", 17001), "key", IdMaker("o"))
        core.on_duty = core.link.up = True
        screen = OperatorScreen(core, colour=False)
        shown = Duty(screen, terminal, pipe, core)
        screen.start(shown.typed.append, lambda: None)
        screen.set_prompt("desk> ")
        await shown.sees("[1:desk]")
        try:
            yield shown
        finally:
            await screen.stop()


SESSION = DeskSession("1", "s1", "Maria", "555", 5, "", 8, "", ())


def test_a_person_handed_over_opens_the_conversation_and_notices_stay_apart() -> None:
    async def scenario() -> None:
        async with duty() as op:
            op.screen.show("[On duty as ann, serving all topics; 0 waiting.]", "system", "")
            op.core.screen.serving = "Maria"
            op.screen.about = SESSION
            op.screen.show("[Now serving Maria, phone 555, topic 5.]", "system", "")
            await op.sees(" 1:desk [2:Maria]")
            op.screen.about = DeskLine("2", "Maria", "hello", "s1")
            op.screen.show("Maria: hello", "chat", "")
            op.screen.about = DeskNotice("3", "Tom is waiting (4 Other); 1 waiting in all.")
            op.screen.show("[Tom is waiting (4 Other); 1 waiting in all.]", "system", "")
            await op.sees(" 1:desk(1) [2:Maria]")  # the arrival in the desk's window
            rows = op.terminal.rows
            assert rows[0].startswith(" Maria │ ann │ desk 127.0.0.1:17001 answers │ on duty")
            assert rows[2].startswith("Maria: hello") and not any("Tom is" in r for r in rows)
            op.pipe.send_text("\x1b1")  # Alt+1: the desk's window
            await op.sees("[Tom is waiting (4 Other); 1 waiting in all.]")
            op.screen.about = None
            op.pipe.send_text("I am here\r")  # to the person: their window again
            await op.sees(" 1:desk [2:Maria]")
            await op.until("echoed it", lambda rows: rows[3].startswith("desk> I am here"))
            op.screen.about = TYPED
            op.pipe.send_text(".room\r")  # a command stays in the window shown
            await op.sees("desk> .room")
            assert op.typed == ["I am here", ".room"]

    asyncio.run(scenario())


def test_the_waiting_room_pane_shows_position_topic_and_wait() -> None:
    async def scenario() -> None:
        async with duty() as op:
            await op.sees("waiting: ?")
            rows = [
                RoomRow("Tom", 4, "***43", 65, True, "", "", 0),
                RoomRow("Ines", 1, "***12", 5, False, "topic", "", 0),
            ]
            op.screen.room.update(rows, time.monotonic())
            await op.sees("│ 2 waiting")
            await op.sees("│Waiting: 2")
            await op.sees("│ 1. Tom 1 min 05 s")
            await op.sees("│    4 Suggestion for Abroad S")
            await op.sees("│ 2. !!! Ines 5 s")
            await op.sees("│    1 Depression (away)")

    asyncio.run(scenario())
