"""The desk clients' terminal: the shared prompt on a terminal (Ctrl-C leaves), else plain lines."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable

from msgspec import Struct

from peer.adapter.desk.screen import OperatorScreen
from peer.adapter.terminal import PlainConsole
from terminal.prompt import LinePrompt


class Typed(Struct, frozen=True):
    """A line typed, `begun` at its first key (or put back in the prompt), else when read."""

    text: str
    begun: float


class EndOfInput(Struct, frozen=True):
    """Input ended (Ctrl-D, a pipe's end, the output gone) or Ctrl-C: the client leaves."""


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
    """`console`: the prompt to use on a terminal (the operator's full screen), else one is made."""

    def __init__(
        self,
        on_input: Callable[[Typed | EndOfInput], None],
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
        if isinstance(self._console, LinePrompt):
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
        self._on_input(Typed(text, self._console.begun))

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            self._on_input(EndOfInput())

    def show(self, text: str, style: str = "system") -> None:
        """`text` as a `Show` of `style` says (peer.core.desk.actions)."""
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
