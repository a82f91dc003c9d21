"""The operator's full screen (`ChatApp -o` on a terminal): the desk's window, the
conversation's, the waiting room and a status bar (docs/DESK.md, "Serving")."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

from peer.adapter.screen_console import status_bar
from terminal.screen import Panes
from terminal.screen_model import ChatWindow, Parts
from terminal.screen_prompt import ScreenPrompt
from terminal.waiting_room import ROOM_WIDTH, WaitingRoom
from wire.desk.messages import DeskEnded, DeskLine, DeskMessage, DeskNotice, DeskSession
from wire.shown_text import clean

#: The desk's window (notices, answers to commands) and the conversation's, by key.
DESK, TALK = "desk", "talk"
#: The conversation's title while nobody is served yet.
NOBODY = "no one yet"
#: What a line is about, when it answers a line typed (it goes to the window shown).
TYPED = "typed"
#: How the desk's notice of people arriving ends: it goes to the desk's window always.
ARRIVALS = " waiting in all."


class DutyState(NamedTuple):
    """What the status bar says, asked at each redraw."""

    name: Callable[[], str]
    desk: Callable[[], str]
    answers: Callable[[], bool | None]
    on_duty: Callable[[], bool]
    serving: Callable[[], str]


class OperatorScreen(ScreenPrompt):
    """The screen; `about` is the message (or TYPED) whose lines are being shown, as the
    runner sets it: a session's lines go to its window, the rest to the desk's."""

    def __init__(self, state: DutyState, *, colour: bool) -> None:
        self.room = WaitingRoom()
        self._state = state
        self._colour = colour
        panes = Panes(self._status, self._room, list, side_width=ROOM_WIDTH)
        super().__init__(ChatWindow(DESK, DESK), panes, colour=colour)
        self.ctrl_c_ends = True  # as the operator's prompt in line mode
        self.about: DeskMessage | str | None = None

    def show(self, text: str, style: str, shown: str) -> None:
        about, serving = self.about, bool(self._state.serving())
        if isinstance(about, DeskSession):
            talk = self.talk()
            talk.title = clean(about.name)
            self.model.switch_to(talk)  # a person handed over: the operator talks to them
        if isinstance(about, DeskSession | DeskLine | DeskEnded) or (
            isinstance(about, DeskNotice) and serving and ARRIVALS not in about.text
        ):
            window = self.talk()
        elif about == TYPED:
            window = self.model.shown
        else:
            window = self.model.windows[0]
        self.add(window, [(shown, text)], mention=style in ("alert", "error"))

    def talk(self) -> ChatWindow:
        return self.model.window(TALK, NOBODY)

    def _entered(self, text: str, on_line: Callable[[str], None]) -> None:
        if self._state.serving() and not text.lstrip().startswith("."):
            self.model.switch_to(self.talk())
        super()._entered(text, on_line)

    def _status(self) -> Parts:
        state = self._state
        duty = "on duty" if state.on_duty() else "off duty"
        count = f"{len(self.room.rows)} waiting" if self.room.known else "waiting: ?"
        where = f"desk {state.desk()}"
        return status_bar(state.name(), where, state.answers(), f"{duty} │ {count}", self._colour)

    def _room(self) -> Parts:
        return self.room.parts(time.monotonic(), colour=self._colour)
