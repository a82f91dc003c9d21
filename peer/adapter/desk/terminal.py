"""The desk clients' terminal: the shared prompt on a terminal (Ctrl-C leaves), else plain lines;
the operator's full screen (`ChatApp -o` on a terminal): the desk's window, the
conversation's, the waiting room and a status bar (docs/DESK.md, "Serving")."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable

from peer.adapter.screen_console import status_bar
from peer.adapter.terminal import PlainConsole
from peer.core.desk.duty import OperatorCore
from terminal.prompt import LinePrompt
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


#: Colours by the style of a line, as prompt_toolkit names them.
_STYLES = {
    "system": "ansicyan",  # the desk's own lines
    "alert": "ansired bold",  # the crisis notice
    "error": "ansired",
    "chat": "bold",
    "question": "bold",
}
#: The same as escape codes, for plain lines.
_CODES = {"ansicyan": "36", "ansired bold": "1;31", "ansired": "31", "bold": "1"}


class Terminal:
    """`console`: the prompt to use on a terminal (the operator's full screen), else one is made;
    `on_input` gets each line typed, when begun (at its first key, or put back in the prompt,
    else when read), and None when input ends (Ctrl-D, a pipe's end, the output gone, Ctrl-C)."""

    def __init__(
        self,
        on_input: Callable[[str | None, float], None],
        *,
        tty: bool,
        colour: bool,
        console: LinePrompt | None = None,
    ) -> None:
        self._on_input = on_input
        self.colour = colour
        self._console: LinePrompt | PlainConsole = console or (
            LinePrompt() if tty else PlainConsole()
        )
        if isinstance(self._console, LinePrompt):  # the operator's full screen too
            self._console.ctrl_c_ends = True
        self._sigint = False
        self._ended = False

    def start(self) -> None:
        with contextlib.suppress(AttributeError, ValueError):
            sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
        if isinstance(self._console, PlainConsole):  # the prompt takes SIGINT as Ctrl-C
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                asyncio.get_running_loop().add_signal_handler(signal.SIGINT, self._end)
                self._sigint = True
        self._console.start(self._typed, self._end)

    async def close(self) -> None:
        await self._console.stop()
        if self._sigint:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)

    def _typed(self, text: str) -> None:
        self._on_input(text, self._console.begun)

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            self._on_input(None, 0.0)

    def show(self, text: str, style: str = "system") -> None:
        """`text` as a `Show` of `style` says (peer.core.desk.link)."""
        prompt = self._console if isinstance(self._console, LinePrompt) else None
        if style == "typed":
            if prompt is not None:  # (plain lines are never put back)
                prompt.put_back(text)
        elif style == "prompt" or (style == "question" and prompt is not None):
            self._console.set_prompt(text + " " if style == "question" else text)
        else:  # a line, or a question among plain lines
            self._line(text, style)

    def _line(self, text: str, style: str) -> None:
        colour = _STYLES.get(style, "") if self.colour else ""
        if isinstance(self._console, OperatorScreen):  # its windows: no `>>> ` needed
            self._console.show(text, style, colour)
        elif isinstance(self._console, LinePrompt):
            self._console.print_above([(colour, ">>> " + text)])
        elif colour:
            self._console.write(f"\x1b[{_CODES[colour]}m>>> {text}\x1b[0m")
        else:
            self._console.write(">>> " + text)


class OperatorScreen(ScreenPrompt):
    """The screen; `about` is the message (or TYPED) whose lines are being shown, as the
    runner sets it: a session's lines go to its window, the rest to the desk's."""

    def __init__(self, core: OperatorCore, *, colour: bool) -> None:
        self.room = WaitingRoom()
        self._core = core
        self._colour = colour
        panes = Panes(self._status, self._room, list, side_width=ROOM_WIDTH)
        super().__init__(ChatWindow(DESK, DESK), panes, colour=colour)
        self.about: DeskMessage | str | None = None

    def show(self, text: str, style: str, shown: str) -> None:
        about, serving = self.about, bool(self._core.screen.serving)
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
        if self._core.screen.serving and not text.lstrip().startswith("."):
            self.model.switch_to(self.talk())
        super()._entered(text, on_line)

    def _status(self) -> Parts:
        core, link = self._core, self._core.link
        duty = "on duty" if core.on_duty and link.up and not core.reconnecting else "off duty"
        count = f"{len(self.room.rows)} waiting" if self.room.known else "waiting: ?"
        answers = link.up if core.on_duty or link.up else None
        where = f"desk {link.ip}:{link.port}"
        return status_bar(core.name, where, answers, f"{duty} │ {count}", self._colour)

    def _room(self) -> Parts:
        return self.room.parts(time.monotonic(), colour=self._colour)
