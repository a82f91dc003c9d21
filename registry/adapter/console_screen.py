"""The registry's console on the full screen: the log and the answers to commands in one
window, the help desk's conversation in another, the waiting room beside them and a status
bar; the `registry>` line as in line mode."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from terminal.screen import Panes
from terminal.screen_model import ChatWindow, Parts
from terminal.screen_prompt import ScreenPrompt
from terminal.waiting_room import ROOM_WIDTH, WaitingRoom

if TYPE_CHECKING:
    from registry.adapter.registry_console import RegistryConsole

#: The log's window (and the answers to commands) and the help desk's, by key.
LOG, DESK = "log", "desk"
#: How the desk's lines begin on the console (registry/adapter/desk/service.py).
DESK_MARK = "desk: "
#: How the desk says someone is handed over to the console (wire/desk/render.py).
HANDED_OVER = "[Now serving "
#: A log line: its time first (registry_console.py).
LOG_LINE = re.compile(r"\d\d:\d\d:\d\d ")


class ConsoleScreen(ScreenPrompt):
    """The console's screen, its bars asked of `console` at each redraw; `prompt` as LinePrompt
    takes it (the console's Ctrl-C, Ctrl-D)."""

    def __init__(self, console: RegistryConsole, *, colour: bool, **prompt: Any) -> None:
        self._state = console
        self._colour = colour
        self.room = WaitingRoom()
        panes = Panes(self._status, self._room, list, side_width=ROOM_WIDTH)
        super().__init__(ChatWindow(LOG, LOG), panes, colour=colour, **prompt)

    def desk(self) -> ChatWindow:
        return self.model.window(DESK, DESK)

    def print_above(self, parts: Parts) -> None:
        """A desk line in the desk's window (without its mark), a log line in the log's, the
        rest (answers, the line typed) in the window shown."""
        text = "".join(part for _, part in parts)
        if text.startswith(DESK_MARK):
            said = text[len(DESK_MARK) :]
            alert = said.startswith("!!!")
            style = "ansired bold" if alert and self._colour else ""
            if said.startswith(HANDED_OVER):  # the admin talks to them: shown, as to an operator
                self.model.switch_to(self.desk())
            self.add(self.desk(), [(style, said)], mention=alert)
        elif LOG_LINE.match(text):
            error = " ERROR" in text[:10]
            self.add(self.model.windows[0], parts, unread=error, mention=error)
        else:
            self.add(self.model.shown, parts)

    def _entered(self, text: str, on_line: Callable[[str], None]) -> None:
        """A line for the desk shows its window first."""
        if self._state.to_desk(text):
            self.model.switch_to(self.desk())
        super()._entered(text, on_line)

    def _status(self) -> Parts:
        state = self._state
        return [
            ("bold", f" registry {state.listening()} "),
            ("", f"│ {state.online()} online │ {state.stored()} stored "),
            ("", f"│ {len(self.room.rows)} waiting " if self.room.known else ""),
        ]

    def _room(self) -> Parts:
        now = time.monotonic()
        rows = self._state.room_rows()
        if rows is None:
            self.room.forget()
        else:
            self.room.update(rows, now)
        return self.room.parts(now, colour=self._colour)
