"""The peer's two consoles: plain lines for scripts and pipes, prompt_toolkit for people.

Plain mode (stdin is not a terminal): one command per input line; every output line starts
with ">>> " and is flushed at once; end of input means quit. Terminal mode: incoming lines
are printed above the input line and the half-typed line is redrawn intact; history, tab
completion, and colour unless NO_COLOR is set or --no-color was given.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import zlib
from collections.abc import Callable, Iterable
from typing import Protocol

from peer.actions import Print
from peer.commands import SPECS

PREFIX = ">>> "
#: Colours for names: each name always gets the same one.
NAME_COLOURS = ("ansicyan", "ansigreen", "ansiyellow", "ansimagenta", "ansiblue", "ansibrightred")
STYLE_COLOURS = {"system": "ansibrightblack", "error": "ansired bold", "info": ""}


def name_colour(name: str) -> str:
    """The stable colour of `name` (the same in every run and on every machine)."""
    return NAME_COLOURS[zlib.crc32(name.casefold().encode()) % len(NAME_COLOURS)]


class Console(Protocol):
    def show(self, line: Print) -> None: ...

    def start(self, on_line: Callable[[str], None], on_end: Callable[[], None]) -> None: ...

    def set_prompt(self, text: str) -> None: ...


class PlainConsole:
    """Lines in, lines out, for pipes, files and tests."""

    def show(self, line: Print) -> None:
        sys.stdout.write(PREFIX + line.text + "\n")
        sys.stdout.flush()

    def set_prompt(self, text: str) -> None:
        pass

    def start(self, on_line: Callable[[str], None], on_end: Callable[[], None]) -> None:
        """Read stdin on a thread (it works for pipes, files and /dev/null alike)."""
        loop = asyncio.get_running_loop()

        # A stray invalid byte becomes U+FFFD instead of ending the session.
        if hasattr(sys.stdin, "reconfigure"):
            sys.stdin.reconfigure(errors="replace")

        def reader() -> None:
            try:
                for raw in sys.stdin:
                    loop.call_soon_threadsafe(on_line, raw.rstrip("\r\n"))
            except (OSError, ValueError, UnicodeDecodeError):
                pass
            loop.call_soon_threadsafe(on_end)

        threading.Thread(target=reader, name="stdin", daemon=True).start()


class TerminalConsole:
    """prompt_toolkit on a terminal: a prompt that incoming lines never garble."""

    def __init__(self, *, colour: bool, bell: bool) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.completion import Completer, Completion
        from prompt_toolkit.document import Document
        from prompt_toolkit.history import InMemoryHistory

        self._colour = colour
        self._bell = bell
        self._me: Callable[[], str] = lambda: ""
        self._words: Callable[[], Iterable[str]] = list
        self._prompt = "> "
        console = self
        command_words = sorted({w for spec in SPECS for w in spec.words if not w.startswith("<")})

        class _Complete(Completer):
            def get_completions(self, document: Document, event: object) -> Iterable[Completion]:
                before = document.text_before_cursor
                word = before.split(" ")[-1]
                pool = command_words if " " not in before.strip() else list(console._words())
                if " " not in before.strip():
                    pool = pool + list(console._words())
                for candidate in pool:
                    if candidate.lower().startswith(word.lower()) and candidate != word:
                        yield Completion(candidate, start_position=-len(word))

        self._session: PromptSession[str] = PromptSession(
            history=InMemoryHistory(), completer=_Complete(), complete_while_typing=False
        )
        self._task: asyncio.Task[None] | None = None

    def set_prompt(self, text: str) -> None:
        self._prompt = text

    def bind(self, me: Callable[[], str], words: Callable[[], Iterable[str]]) -> None:
        """Where to find the user's own name (for the bell) and the names to complete."""
        self._me, self._words = me, words

    def show(self, line: Print) -> None:
        from prompt_toolkit import print_formatted_text
        from prompt_toolkit.formatted_text import FormattedText

        parts: list[tuple[str, str]] = [("ansibrightblack" if self._colour else "", PREFIX)]
        text = line.text
        if self._colour and line.who and text.startswith(line.who):
            parts.append((name_colour(line.who) + " bold", line.who))
            text = text[len(line.who) :]
        style = STYLE_COLOURS.get(line.style, "") if self._colour else ""
        parts.append((style, text))
        if self._bell and line.style in ("message", "room") and self._rings(line):
            parts.append(("", "\a"))
        print_formatted_text(FormattedText(parts))

    def _rings(self, line: Print) -> bool:
        if line.style == "message":
            return True
        return self._me().casefold() in line.text.casefold()

    def start(self, on_line: Callable[[str], None], on_end: Callable[[], None]) -> None:
        from prompt_toolkit.patch_stdout import patch_stdout

        async def loop() -> None:
            with patch_stdout(raw=True):
                while True:
                    try:
                        text = await self._session.prompt_async(lambda: self._prompt)
                    except (EOFError, KeyboardInterrupt):
                        on_end()
                        return
                    on_line(text)

        self._task = asyncio.ensure_future(loop())
