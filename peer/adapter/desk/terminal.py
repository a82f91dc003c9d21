"""The help-desk clients' terminal: lines in (`Typed`, `EndOfInput`), lines out. On a
terminal prompt_toolkit keeps the line being typed below what is printed; otherwise input
is read a line at a time and every line printed is flushed at once.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from msgspec import Struct

from peer.adapter.output import StdoutLines
from terminal.prompt_keys import stray_escapes
from terminal.prompt_resume import redrawn_on_continue


class Typed(Struct, frozen=True):
    """The user typed a line, begun at `begun` (monotonic seconds): on a terminal, its first
    key (or the moment it was put back into the prompt); otherwise the moment it was read.
    The cores tell by it whether a line was begun before a notice was shown."""

    text: str
    begun: float


class EndOfInput(Struct, frozen=True):
    """Standard input ended (Ctrl-D, end of a pipe) or the user pressed Ctrl-C."""

    interrupted: bool


_STYLES = {
    "system": "\x1b[36m",  # cyan: the desk's own lines
    "alert": "\x1b[1;31m",  # bold red: the crisis notice
    "error": "\x1b[31m",
    "chat": "\x1b[1m",
    "prompt": "\x1b[1m",
}


def use_colour(requested: bool | None = None) -> bool:
    """Colour only on a terminal, never with NO_COLOR set (docs/GUIDE.md)."""
    if requested is False or "NO_COLOR" in os.environ:
        return False
    return sys.stdout.isatty()


class Screen(Protocol):
    """What the help-desk clients need of a terminal."""

    def start(self) -> None: ...
    async def close(self) -> None: ...
    def show(self, line: str, style: str = "system") -> None: ...
    def ask(self, question: str) -> None: ...
    def set_prompt(self, prompt: str) -> None: ...
    def put_typed(self, text: str) -> None: ...


class Terminal:
    """Lines in, lines out. On a terminal it uses prompt_toolkit, so incoming lines never
    garble the line being typed; otherwise it reads one line per input on a thread and
    prints plain lines, flushed at once (docs/GUIDE.md). Every line printed starts
    with `>>> `. What is typed is handed to `on_input` as Typed and EndOfInput."""

    def __init__(
        self, on_input: Callable[[Typed | EndOfInput], None], *, tty: bool, colour: bool
    ) -> None:
        self._on_input = on_input
        self.tty = tty
        self.colour = colour
        self._prompt = "> "
        self._stack = contextlib.ExitStack()
        self._task: asyncio.Task[None] | None = None
        self._sigint = False
        self._session: Any = None  # the PromptSession on a terminal
        self._put_back = ""  # a line to start the next prompt with (see `put_typed`)
        # when the line in the prompt was begun: its first key into an empty prompt
        self._begun: float | None = None
        # a pipe whose reader left (`ChatApp -d ... | head`): taken as the end of the input
        self._out = StdoutLines(lambda reason: self._output_gone())
        self._input_ended = False

    def start(self) -> None:
        """Begin reading standard input."""
        for stream in (sys.stdout, sys.stdin):
            with contextlib.suppress(AttributeError, ValueError):
                stream.reconfigure(errors="replace")  # type: ignore[union-attr]
        loop = asyncio.get_running_loop()
        if self.tty:
            from prompt_toolkit.patch_stdout import patch_stdout

            self._stack.enter_context(patch_stdout(raw=True))
            self._task = asyncio.create_task(self._prompt_loop())
            return
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, self._interrupted)
            self._sigint = True

        def read() -> None:
            # Every line of one read is stamped with the moment its bytes arrived: lines
            # typed ahead were there before anything the core shows after, however late
            # this thread gets to split them.
            decoder = codecs.getincrementaldecoder(sys.stdin.encoding or "utf-8")("replace")
            rest = ""
            try:
                while chunk := os.read(sys.stdin.fileno(), 65536):
                    arrived = time.monotonic()
                    *lines, rest = (rest + decoder.decode(chunk)).split("\n")
                    for line in lines:
                        loop.call_soon_threadsafe(self._typed, Typed(line.rstrip("\r"), arrived))
                if last := (rest + decoder.decode(b"", final=True)).rstrip("\r"):
                    loop.call_soon_threadsafe(self._typed, Typed(last, time.monotonic()))
            except (OSError, ValueError):
                pass
            with contextlib.suppress(RuntimeError):  # the loop may be gone already
                loop.call_soon_threadsafe(self._end_of_input)

        threading.Thread(target=read, name="stdin", daemon=True).start()

    async def close(self) -> None:
        """Stop reading; put the terminal back as it was, with every line printed."""
        if self._task is not None:
            # The prompt must be gone before stdout is unpatched, or the last lines printed
            # above it can be lost with it. Erased, not left as an empty `>` above them.
            if self._session is not None:
                self._session.app.erase_when_done = True
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._sigint:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)
        self._stack.close()

    def _interrupted(self) -> None:
        self._on_input(EndOfInput(True))

    def _typed(self, typed: Typed) -> None:
        if not self._input_ended:  # nothing read after the output went away is carried out
            self._on_input(typed)

    def _end_of_input(self) -> None:
        """EndOfInput(False), once: the end of the input and the output gone both end it."""
        if not self._input_ended:
            self._input_ended = True
            self._on_input(EndOfInput(False))

    def _output_gone(self) -> None:
        # The client leaves as at the end of its input (there is nobody to show anything
        # to), soon rather than now: `show` is called while the core's actions are
        # carried out, which must all be carried out before the core hears of anything new.
        with contextlib.suppress(RuntimeError):  # no loop: nothing is running to end
            asyncio.get_running_loop().call_soon(self._end_of_input)

    async def _prompt_loop(self) -> None:
        from prompt_toolkit import PromptSession

        session: PromptSession[str] = PromptSession()
        self._session = session
        session.default_buffer.on_text_changed += self._text_changed
        with redrawn_on_continue(lambda: session.app):  # after kill -STOP and fg
            while True:
                try:
                    line = await session.prompt_async(
                        lambda: self._prompt,
                        key_bindings=stray_escapes(),
                        pre_run=self._put_pending,
                    )
                except KeyboardInterrupt:
                    # Ctrl-C always ends the run: no fresh prompt under the lines of leaving
                    self._on_input(EndOfInput(True))
                    return
                except EOFError:
                    self._on_input(EndOfInput(False))
                    return
                begun, self._begun = self._begun, None
                self._on_input(Typed(line, time.monotonic() if begun is None else begun))

    def _text_changed(self, buffer: Any) -> None:
        """The prompt's text changed: a first key into an empty prompt begins a line (so
        does a line put back into it); a prompt cleared begins none yet. (The reset of the
        prompt once its line is read says nothing here: `_prompt_loop` takes the stamp.)"""
        if not buffer.text:
            self._begun = None
        elif self._begun is None:
            self._begun = time.monotonic()

    def ask(self, question: str) -> None:
        """Show a question: as the prompt on a terminal, as a line otherwise."""
        if self.tty:
            self.set_prompt(question + " ")
        else:
            self.show(question, "prompt")

    def set_prompt(self, prompt: str) -> None:
        """The prompt shown on a terminal while chatting."""
        self._prompt = prompt
        # The next prompt may already be on screen with the old text: redraw it.
        if self._session is not None and self._session.app.is_running:
            self._session.app.invalidate()

    def put_typed(self, text: str) -> None:
        """Put `text` into the prompt on a terminal, cursor at its end, for Enter to send
        again. The line it was has just been read, so the next prompt may not be up yet:
        then it starts with `text`. Nothing happens when something new is typed there
        already (the line it would replace is the operator's too), or when not a terminal."""
        if not self.tty:
            return
        self._put_back = text
        if self._session is not None and self._session.app.is_running:
            self._put_pending()

    def _put_pending(self) -> None:
        text, self._put_back = self._put_back, ""
        buffer = self._session.default_buffer if self._session is not None else None
        if text and buffer is not None and not buffer.text:
            buffer.insert_text(text)

    def show(self, line: str, style: str = "system") -> None:
        """Print one line, prefixed with `>>> `."""
        text = ">>> " + line
        if self.colour and style in _STYLES:
            text = f"{_STYLES[style]}{text}\x1b[0m"
        self._out.write(text)
