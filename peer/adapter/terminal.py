"""The peer's two consoles: plain lines for scripts and pipes (every line written starts
with ">>> "), prompt_toolkit for people (docs/GUIDE.md)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import os
import re
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from peer.adapter.output import StdoutLines
from peer.core.actions import Print
from peer.core.commands import SPECS
from terminal.asked_first import YES, AskedFirst
from terminal.prompt import LinePrompt, on_a_terminal
from wire.shown_text import clean

if TYPE_CHECKING:
    from prompt_toolkit.history import History
    from prompt_toolkit.key_binding import KeyBindings

PREFIX = ">>> "
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


#: Colours for names, from the xterm 256-colour cube (drawn exactly on such a terminal):
#: 14 hues and shades, none near red (errors are bold red) nor grey (system lines).
NAME_COLOURS = (
    "#00afff",
    "#00d700",
    "#d7d700",
    "#af87ff",
    "#00d7af",
    "#ffaf00",
    "#5f87ff",
    "#d75fd7",
    "#87d7ff",
    "#afd75f",
    "#ffd787",
    "#5fd7d7",
    "#d7afff",
    "#87ffaf",
)


def hashed_colour(name: str) -> int:
    return zlib.crc32(name.casefold().encode()) % len(NAME_COLOURS)


@dataclasses.dataclass(frozen=True)
class Sources:
    """What else the consoles ask of the peer: `question`, which question of `message` the
    next line answers ("": a command); `losing`, what quitting now would leave undone; the
    rest for the full screen (`answers` None: not yet heard). Unbound: nothing."""

    me: Callable[[], str] = str
    names: Callable[[], Sequence[str]] = list  # online
    rooms: Callable[[], Sequence[str]] = list
    room: Callable[[], str] = str
    question: Callable[[], str] = str
    kept: History | None = None
    losing: Callable[[], Sequence[str]] = list
    people: Callable[[], Sequence[tuple[str, bool, str]]] = list  # name, online, why away
    registry: Callable[[], str] = str
    answers: Callable[[], bool | None] = lambda: None
    outbox: Callable[[], int] = int
    transfers: Callable[[], Sequence[tuple[int, str, int, int]]] = list


def completions(before: str, sources: Sources) -> list[str]:
    """What Tab offers for the last word of `before` (the line up to the cursor)."""
    in_room, rooms, question = bool(sources.room()), sources.rooms(), sources.question()
    me, names = sources.me(), sources.names()
    words = before.split(" ")
    word = words[-1]
    spaced = [f"{n} " for n in names]
    pool: list[str]
    if question == "recipient":
        pool = list(names) if len(words) == 1 else []
    elif question:
        pool = spaced
    elif len(words) == 1 and in_room:
        pool = [*(f"{w} " for w in COMMAND_WORDS if w.startswith("/")), "leave", *spaced]
    elif len(words) == 1:
        pool = [*(f"{w} " for w in COMMAND_WORDS), *(f"{n}:" for n in names)]
    else:
        verb = words[0].lower()
        command = verb.lstrip("/") if verb.startswith("/") or not in_room else ""
        helped = sorted({w.lstrip("/") for w in COMMAND_WORDS})
        second = {"join": list(rooms), "reg": [me], "dereg": [me], "help": helped}
        pool = second.get(command, spaced) if len(words) == 2 else spaced
    lowered = word.lower()
    return [c for c in dict.fromkeys(pool) if c.lower().startswith(lowered) and c.rstrip() != word]


def mentions(text: str, me: str) -> bool:
    """Whether `text` names `me` as a word of its own, ignoring case."""
    if not me:
        return False
    return re.search(rf"(?<![\w.-]){re.escape(me)}(?![\w-])", text, re.IGNORECASE) is not None


def rings(line: Print, me: str) -> bool:
    """Whether `line` rings the bell: a direct message, or a room message naming you."""
    said = line.text.partition("): ")[2]
    return line.style == "message" or (line.style == "room" and mentions(said, me))


def fragments(
    line: Print, colour: bool, colour_of: Callable[[str], str], prefix: str = PREFIX
) -> list[tuple[str, str]]:
    """`line` as prompt_toolkit (style, text) pairs, the sender's name in its colour."""
    text, who = clean(line.text), line.who
    if not colour:
        return [("", prefix + text)]
    style = STYLE_COLOURS.get(line.style, "")
    parts: list[tuple[str, str]] = [("ansibrightblack", prefix)] if prefix else []
    at = _name_at(text, who)
    if at < 0:
        return [*parts, (style, text)]
    named = [(style, text[:at]), (f"{colour_of(who)} bold", who), (style, text[at + len(who) :])]
    return [*parts, *(part for part in named if part[1])]


def _name_at(text: str, who: str) -> int:
    """Where the sender's name stands in `text` (first, or after "[history 10:15] "), or -1."""
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

    def after_printed(self, then: Callable[[], None]) -> None:
        """Call `then` once every line shown so far is on the screen (at once if it is)."""

    def start(self, on_line: Callable[[str], None], on_end: Callable[[], None]) -> None: ...

    def set_prompt(self, text: str) -> None: ...

    async def stop(self) -> None: ...


class PlainConsole:
    """Lines in, lines out, for pipes, files and tests. The output gone (`| head -1`) is the
    end of the input: the peer leaves politely, and no line read after is carried out."""

    def __init__(self) -> None:
        self._out = StdoutLines(lambda reason: self._output_gone())
        self._lines: list[str] = []  # written at the end of this pass of the loop
        self._on_end: Callable[[], None] | None = None  # until `start`, and once called
        self._ended = False
        #: When the line being handed to `on_line` was read (monotonic), as LinePrompt.begun.
        self.begun = 0.0

    def show(self, line: Print) -> None:
        # cleaned like the terminal's lines: the output of a pipe often ends up on one
        self.write(PREFIX + clean(line.text))

    def write(self, text: str) -> None:
        """Print `text`; the lines of one pass of the loop leave together at its end."""
        lines = self._lines
        lines.append(text)
        if len(lines) == 1:
            try:
                asyncio.get_running_loop().call_soon(self._write_out)
            except RuntimeError:  # no loop runs: nothing would write them later
                self._write_out()

    def _write_out(self) -> None:
        if self._lines:
            lines, self._lines = self._lines, []
            self._out.write("\n".join(lines))

    def _output_gone(self) -> None:
        # soon: the core's actions being carried out are finished first
        if self._on_end is not None:
            asyncio.get_running_loop().call_soon(self._end)

    def _end(self) -> None:
        if not self._ended and self._on_end is not None:
            self._ended = True
            self._on_end()

    def set_prompt(self, text: str) -> None:
        pass

    def after_printed(self, then: Callable[[], None]) -> None:
        # once the output is gone nothing is read: the mail is shown at the next start
        self._write_out()
        if not self._out.gone:
            then()

    async def stop(self) -> None:
        self._write_out()

    def start(self, on_line: Callable[[str], None], on_end: Callable[[], None]) -> None:
        """Read stdin on a thread (for pipes, files and /dev/null alike)."""
        loop = asyncio.get_running_loop()

        # an invalid byte becomes U+FFFD (else, stdin read already, the reader copes)
        if hasattr(sys.stdin, "reconfigure"):
            with contextlib.suppress(io.UnsupportedOperation):
                sys.stdin.reconfigure(errors="replace")

        self._on_end = on_end
        if self._out.gone:  # gone before the start (a line shown while starting)
            loop.call_soon(self._end)
        self._out.watch_reader(loop)

        def typed(text: str, begun: float) -> None:
            if not self._ended:  # after the output went away, nothing more is carried out
                self.begun = begun
                on_line(text)

        def reader() -> None:
            try:
                for raw in sys.stdin:
                    loop.call_soon_threadsafe(typed, raw.rstrip("\r\n"), time.monotonic())
            except (OSError, ValueError, UnicodeDecodeError):
                pass
            with contextlib.suppress(RuntimeError):  # the loop may be closed already
                loop.call_soon_threadsafe(self._end)

        threading.Thread(target=reader, name="stdin", daemon=True).start()


class TerminalConsole(LinePrompt):
    """The peer's prompt on a terminal: Tab, a history for commands and for each question of
    `message`; Ctrl-C or Ctrl-D asks before quitting when that leaves something undone."""

    def __init__(self, *, colour: bool, bell: bool, **screen: Any) -> None:
        """`screen`: ScreenConsole's, what ScreenPrompt takes besides the colour."""
        from prompt_toolkit.completion import Completer, Completion
        from prompt_toolkit.document import Document

        self._colour = colour
        self._bell = bell
        self._given: dict[str, int] = {}  # casefolded name: its slot in NAME_COLOURS
        self._on_line: Callable[[str], None] = lambda text: None
        self._sources = Sources()
        self._histories: dict[str, History] = {}
        self._says = "> "  # the peer's prompt, shown unless the question before quitting is
        self._ask = AskedFirst(self._quit_question, self.end, self._not_quitting)
        self._cleared_said = False
        console = self

        class _Complete(Completer):
            def get_completions(self, document: Document, event: object) -> Iterable[Completion]:
                asked, console._tab_on_line = console._tab_on_line, None
                if asked is not None and asked != console.lines_entered:
                    # an Enter read with the Tab sent the line: this is the next one
                    return
                before = document.text_before_cursor
                word = before.split(" ")[-1]
                for candidate in completions(before, console._sources):
                    yield Completion(candidate, start_position=-len(word))

        def prompt_style() -> str:  # the prompt in the colour of your name
            me = self._sources.me()
            return f"{self.colour_of(me)} bold" if self._colour and me else ""

        if screen:
            screen["colour"] = colour
        super().__init__(
            history=self._history,
            completer=_Complete(),
            prompt_style=prompt_style,
            keys=self._tab(),
            on_interrupt=self._cancel_question,
            on_eof=self._quit_key,
            **screen,
        )
        # the line a Tab was pressed on (`lines_entered` then), until its completion runs
        self._tab_on_line: int | None = None

    def colour_of(self, name: str) -> str:
        """The colour given `name` (whatever its case); a new name takes the first from its
        hash's that no name was given, else one no name online has."""
        key = name.casefold()
        if key not in self._given:
            start = hashed_colour(key)
            order = [(start + step) % len(NAME_COLOURS) for step in range(len(NAME_COLOURS))]
            ever = set(self._given.values())
            online = {n.casefold() for n in self._sources.names()} - {key}
            held = {slot for name, slot in self._given.items() if name in online}
            free = [slot for slot in order if slot not in ever] or order
            self._given[key] = next((slot for slot in free if slot not in held), start)
        return NAME_COLOURS[self._given[key]]

    def _history(self) -> History:  # of commands, or of answers to a question
        from prompt_toolkit.history import InMemoryHistory

        return self._histories.setdefault(self._sources.question(), InMemoryHistory())

    def bind(self, sources: Sources) -> None:
        self._sources = sources
        if sources.kept is not None:
            self._histories[""] = sources.kept
            self.session.history = self.session.default_buffer.history = self._history()

    def start(self, on_line: Callable[[str], None], on_end: Callable[[], None]) -> None:
        self._on_line = on_line
        super().set_prompt(lambda: self._ask.asked or self._says)
        super().start(self._line, on_end)

    def set_prompt(self, text: str | Callable[[], str]) -> None:
        self._says = text() if callable(text) else text
        super().set_prompt(lambda: self._ask.asked or self._says)

    def _line(self, text: str) -> None:
        if not self._ask.answer(text):
            self._on_line(text)

    def _cancel_question(self) -> bool:
        """Ctrl-C on an empty line: cancels a question of `message`, else quits."""
        if not self._sources.question():
            return self._quit_key()
        self._on_line("")
        return True

    def _quit_key(self) -> bool:
        """Ctrl-C or Ctrl-D on the empty line: True when it asked first."""
        asked = self._ask.key()
        self.app.invalidate()  # drawn again: the question, or not
        return asked

    def _quit_question(self) -> str:
        losing = list(self._sources.losing())
        if not losing:
            return ""
        said = ", ".join(losing[:-1]) + " and " + losing[-1] if len(losing) > 1 else losing[0]
        return f"Quit? {said}. [y/N] "

    def _not_quitting(self, line: str) -> None:
        answered = line.strip().lower() in ("", "n", "no", *YES)
        why = "" if answered else "; that line was not carried out (Up brings it back)"
        self.show(Print(f"[Not quitting{why}.]", "system"))

    def cleared(self, text: str) -> None:
        if not self._cleared_said:  # said once: what became of the line, and the next Ctrl-C
            self._cleared_said = True
            line = "[Line cleared; Up brings it back. Ctrl-C on an empty line quits.]"
            self.show(Print(line, "system"))

    def show(self, line: Print) -> None:
        self._draw(line)
        if self._bell and rings(line, self._sources.me()):
            output = self.app.output
            output.bell()
            output.flush()

    def _draw(self, line: Print) -> None:
        self.print_above(fragments(line, self._colour, self.colour_of))

    def _tab(self) -> KeyBindings:
        from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
        from prompt_toolkit.key_binding.bindings.completion import generate_completions

        keys = KeyBindings()

        @keys.add("tab")
        def _tab(event: KeyPressEvent) -> None:
            # one candidate is put in at once (a Tab and an Enter read together send the
            # line completed); several go to prompt_toolkit's menu
            buffer = event.current_buffer
            if buffer.complete_state is None:
                before = buffer.document.text_before_cursor
                candidates = completions(before, self._sources)
                if len(candidates) == 1:
                    buffer.delete_before_cursor(len(before.split(" ")[-1]))
                    buffer.insert_text(candidates[0])
                    return
                self._tab_on_line = self.lines_entered  # a menu begins (else it cycles)
            generate_completions(event)

        return keys


def colour_wanted() -> bool:
    return not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def make_console(*, colour: bool, bell: bool, plain: bool = False) -> Console:
    """On a terminal, the full screen (`plain`: the prompt); else the plain line console."""
    if not on_a_terminal():
        return PlainConsole()
    colour = colour and colour_wanted()
    if plain:
        return TerminalConsole(colour=colour, bell=bell)
    from peer.adapter.screen_console import ScreenConsole

    return ScreenConsole(colour=colour, bell=bell)
