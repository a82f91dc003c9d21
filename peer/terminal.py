"""The peer's two consoles: plain lines for scripts and pipes, prompt_toolkit for people.

Plain mode (stdin is not a terminal): one command per input line; every output line starts
with ">>> " and is flushed at once; end of input means quit. Terminal mode: incoming lines
are printed above the input line and the half-typed line is redrawn intact; history, tab
completion, and colour unless NO_COLOR is set or --no-color was given.
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from peer.actions import Print
from peer.commands import SPECS

PREFIX = ">>> "
#: Colours for names: each name always gets the same one.
NAME_COLOURS = ("ansicyan", "ansigreen", "ansiyellow", "ansimagenta", "ansiblue", "ansibrightred")
#: Colours by the style of a line: system lines dimmed, errors red, the rest plain.
STYLE_COLOURS = {
    "system": "ansibrightblack",
    "history": "ansibrightblack",
    "error": "ansired bold",
    "info": "",
}

#: Words tab completion offers at the start of a line (the key combinations are no words).
COMMAND_WORDS = sorted(
    {w for spec in SPECS for w in spec.words if w[0] == "/" or w[0].isalpha()}
    - {"Ctrl-D", "Ctrl-C"}
)


def name_colour(name: str) -> str:
    """The stable colour of `name` (the same in every run and on every machine)."""
    return NAME_COLOURS[zlib.crc32(name.casefold().encode()) % len(NAME_COLOURS)]


def completions(
    before: str, *, in_room: bool, names: Sequence[str], rooms: Sequence[str], me: str
) -> list[str]:
    """What tab completion offers for the last word of `before` (the line up to the cursor):
    command words first on a line (and `name:` outside a room), online names after send and
    /dm, rooms after join, your own name after reg and dereg, commands after /help, and names
    anywhere else (a mention in a room). A word that is followed by more gets its space."""
    words = before.split(" ")
    word = words[-1]
    pool: list[str]
    if len(words) == 1:
        if in_room:
            slashed = [w for w in COMMAND_WORDS if w.startswith("/")]
            pool = [*(f"{w} " for w in slashed), "leave", *(f"{n} " for n in names)]
        else:
            pool = [*(f"{w} " for w in COMMAND_WORDS), *(f"{n}:" for n in names)]
    else:
        verb = words[0].lower()
        command = verb.lstrip("/") if verb.startswith("/") or not in_room else ""
        if len(words) == 2 and command == "join":
            pool = list(rooms)
        elif len(words) == 2 and command in ("send", "dm"):
            pool = [f"{n} " for n in names]
        elif len(words) == 2 and command in ("reg", "dereg"):
            pool = [me]
        elif len(words) == 2 and command == "help":
            pool = sorted({w.lstrip("/") for w in COMMAND_WORDS})
        else:
            pool = [f"{n} " for n in names]
    lowered = word.lower()
    return [c for c in dict.fromkeys(pool) if c.lower().startswith(lowered) and c.rstrip() != word]


def mentions(text: str, me: str) -> bool:
    """Whether `text` names `me` as a word of its own, ignoring case."""
    if not me:
        return False
    return re.search(rf"(?<![\w.-]){re.escape(me)}(?![\w-])", text, re.IGNORECASE) is not None


def rings(line: Print, me: str) -> bool:
    """Whether `line` rings the bell (with --bell): a direct message, or a live room message
    that mentions your name in its text."""
    if line.style == "message":
        return True
    if line.style == "room":
        _, _, said = line.text.partition("): ")
        return mentions(said, me)
    return False


def fragments(line: Print, colour: bool) -> list[tuple[str, str]]:
    """`line` with its prefix as prompt_toolkit (style, text) pairs: the name of the person
    it is from in that name's colour, the rest in the colour of the line's style."""
    if not colour:
        return [("", PREFIX + line.text)]
    style = STYLE_COLOURS.get(line.style, "")
    parts: list[tuple[str, str]] = [("ansibrightblack", PREFIX)]
    text, who = line.text, line.who
    at = _name_at(text, who)
    if at < 0:
        return [*parts, (style, text)]
    before, after = text[:at], text[at + len(who) :]
    if before:
        parts.append((style, before))
    parts.append((f"{name_colour(who)} bold", who))
    if after:
        parts.append((style, after))
    return parts


def _name_at(text: str, who: str) -> int:
    """Where the sender's name stands in `text` (at the start, maybe indented, or after a
    bracketed tag like "[history 10:15] " or "[Channel_Message "), or -1."""
    if not who:
        return -1
    at = text.find(who)
    tagged = text.startswith("[") and text[at - 1 : at] in (" ", "[")
    if at >= 0 and (not text[:at].strip() or tagged):
        end = at + len(who)
        if end == len(text) or text[end] in ": ":
            return at
    return -1


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
    """prompt_toolkit on a terminal: a prompt that incoming lines never garble.

    Lines are printed with print_formatted_text, which prints above a running prompt and
    redraws it with what was typed so far. Up and down walk the history; Tab completes
    (see `completions`).
    """

    def __init__(self, *, colour: bool, bell: bool) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.completion import Completer, Completion
        from prompt_toolkit.document import Document
        from prompt_toolkit.history import InMemoryHistory

        self._colour = colour
        self._bell = bell
        self._me: Callable[[], str] = lambda: ""
        self._names: Callable[[], Sequence[str]] = list
        self._rooms: Callable[[], Sequence[str]] = list
        self._in_room: Callable[[], bool] = lambda: False
        self._prompt = "> "
        console = self

        class _Complete(Completer):
            def get_completions(self, document: Document, event: object) -> Iterable[Completion]:
                before = document.text_before_cursor
                word = before.split(" ")[-1]
                for candidate in completions(
                    before,
                    in_room=console._in_room(),
                    names=console._names(),
                    rooms=console._rooms(),
                    me=console._me(),
                ):
                    yield Completion(candidate, start_position=-len(word))

        self._session: PromptSession[str] = PromptSession(
            history=InMemoryHistory(), completer=_Complete(), complete_while_typing=False
        )
        self._task: asyncio.Task[None] | None = None

    def set_prompt(self, text: str) -> None:
        self._prompt = text
        app = self._session.app
        if app.is_running:
            app.invalidate()

    def bind(
        self,
        me: Callable[[], str],
        names: Callable[[], Sequence[str]],
        rooms: Callable[[], Sequence[str]] = list,
        in_room: Callable[[], bool] = lambda: False,
    ) -> None:
        """Where to find your own name (for the bell and the prompt's colour), the names
        online and the rooms known (to complete), and whether you are in a room."""
        self._me, self._names, self._rooms, self._in_room = me, names, rooms, in_room

    def show(self, line: Print) -> None:
        from prompt_toolkit import print_formatted_text
        from prompt_toolkit.application import get_app_session
        from prompt_toolkit.formatted_text import FormattedText

        print_formatted_text(FormattedText(fragments(line, self._colour)))
        if self._bell and rings(line, self._me()):
            output = get_app_session().output
            output.bell()
            output.flush()

    def _prompt_text(self) -> list[tuple[str, str]]:
        style = f"{name_colour(self._me())} bold" if self._colour and self._me() else ""
        return [(style, self._prompt)]

    def start(self, on_line: Callable[[str], None], on_end: Callable[[], None]) -> None:
        from prompt_toolkit.patch_stdout import patch_stdout

        async def loop() -> None:
            with patch_stdout(raw=True):
                while True:
                    try:
                        text = await self._session.prompt_async(self._prompt_text)
                    except (EOFError, KeyboardInterrupt):
                        on_end()
                        return
                    on_line(text)

        self._task = asyncio.ensure_future(loop())
