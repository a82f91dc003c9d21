"""LinePrompt (terminal/prompt.py) on the full screen (terminal/screen.py): the same line,
keys and history, but a printed line goes into a window of a ScreenModel rather than above
the prompt. The registry's console and the operator's client choose the window of each."""

from __future__ import annotations

import contextlib
import re
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from terminal.prompt import LinePrompt
from terminal.screen import FullScreen, Panes
from terminal.screen_model import ChatWindow, Parts, ScreenModel

if TYPE_CHECKING:
    from prompt_toolkit.application import Application
    from prompt_toolkit.key_binding.key_bindings import KeyBindingsBase

#: A line that shows another window (the keys that do: terminal/screen.py).
WINDOW_COMMAND = re.compile(r"\s*/window\s+(\d+)\s*", re.IGNORECASE)
#: A line that closes the window shown.
CLOSE_COMMAND = re.compile(r"\s*/close\s*", re.IGNORECASE)
#: Lines since the last one entered that stay on the terminal when the program stops with
#: the screen up (what answered a `quit`, say), at most.
FAREWELL = 10


class ScreenPrompt(LinePrompt):
    """The prompt on the full screen, whose first window is `first`. Lines printed before the
    screen shows are printed on the terminal at once (in order with the start's questions)
    and are in its windows when it shows; lines printed once it has ended are printed on the
    terminal."""

    def __init__(self, first: ChatWindow, panes: Panes, *, colour: bool, **prompt: Any) -> None:
        super().__init__(**prompt)
        self.model = ScreenModel(first)
        self.screen = FullScreen(
            self.model,
            self.session.default_buffer,
            self.prompt_text,
            panes,
            colour=colour,
            terminal=(self.session.input, self.session.output),
        )
        self._ran = False  # the screen was shown, and has ended
        self._shown = False  # the screen has begun
        self._since: deque[Parts] = deque(maxlen=FAREWELL)  # since the last line entered

    @property
    def app(self) -> Application[Any]:
        return self.screen.app

    def add(
        self, window: ChatWindow, parts: Parts, *, unread: bool = True, mention: bool = False
    ) -> None:
        """A line in `window` (see ScreenModel.add); on the terminal once the screen has ended."""
        if self._ran:
            super().print_above(parts)  # the application is done: printed as it is
            return
        self.model.add(window, parts, unread=unread, mention=mention)
        if not self._shown:
            _print(parts)
        self._since.append(parts)
        self.app.invalidate()

    def print_above(self, parts: Parts) -> None:
        self.add(self.model.shown, parts)

    def after_printed(self, then: Callable[[], None]) -> None:
        then()  # in the model, a line is on the screen

    def _entered(self, text: str, on_line: Callable[[str], None]) -> None:
        """`/window N` shows window N and `/close` closes the one shown, on every program's
        full screen; other lines are LinePrompt's."""
        if number := WINDOW_COMMAND.fullmatch(text):
            self._keep(text)
            if not self.model.switch(int(number[1])):
                self.print_above([("", f"[No window {number[1]}: Alt+1 to Alt+9, or /window N.]")])
            return
        if CLOSE_COMMAND.fullmatch(text):
            self._keep(text)
            if not self.model.close():
                self.print_above([("", "[Window 1 is always open; /close closes the others.]")])
            return
        self._since.clear()
        super()._entered(text, on_line)

    async def prompt(self, keys: KeyBindingsBase, default: str) -> None:
        from prompt_toolkit.key_binding import merge_key_bindings

        self.session.default_buffer.text = default
        self.app.key_bindings = merge_key_bindings([keys, self.screen.keys])
        self._shown = True
        self._since.clear()  # printed already, before the screen
        try:
            await self.screen.run()
        finally:
            self._ran = True

    async def stop(self) -> None:
        """Stop as LinePrompt does; what the screen showed last stays on the terminal."""
        up = self._shown and not self._ran
        await super().stop()
        self._ran = True
        with contextlib.suppress(OSError):  # a terminal closed (EIO) has no one to show it to
            for parts in list(self._since) if up else []:
                _print(parts)


def _print(parts: Parts) -> None:
    """`parts` on the terminal, as a line of their own."""
    from prompt_toolkit import print_formatted_text
    from prompt_toolkit.formatted_text import FormattedText

    print_formatted_text(FormattedText(parts))
