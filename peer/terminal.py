"""The peer's two consoles: plain lines for scripts and pipes, prompt_toolkit for people.

Plain mode (stdin is not a terminal): one command per input line; every output line starts
with ">>> " and is flushed at once; end of input means quit. Terminal mode: incoming lines
are printed above the input line and the half-typed line is redrawn intact; history, tab
completion, and colour unless NO_COLOR is set or --no-color was given.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import sys
import threading
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from net.prompt_keys import stray_escapes
from net.prompt_resume import redrawn_on_continue
from net.typed_ahead import TypedAhead, read_typed_ahead
from peer.actions import Print
from peer.commands import SPECS
from peer.output import StdoutLines
from wire.shown_text import clean

if TYPE_CHECKING:
    from prompt_toolkit.buffer import Buffer
    from prompt_toolkit.history import InMemoryHistory
    from prompt_toolkit.input import Input

PREFIX = ">>> "
#: Seconds the terminal console waits, when the peer stops, for lines still being printed.
STOP_WAIT = 2.0
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
    before: str,
    *,
    in_room: bool,
    names: Sequence[str],
    rooms: Sequence[str],
    me: str,
    question: str = "",
) -> list[str]:
    """What tab completion offers for the last word of `before` (the line up to the cursor):
    command words first on a line (and `name:` outside a room), online names after send and
    /dm, rooms after join, your own name after reg and dereg, commands after /help, and names
    anywhere else (a mention in a room). A word that is followed by more gets its space.
    At a question of the `message` command (`question`, see PeerCore.question) the line is
    no command: the recipient's is a name alone, the text's has names anywhere (mentions)."""
    words = before.split(" ")
    word = words[-1]
    pool: list[str]
    if question == "recipient":
        pool = list(names) if len(words) == 1 else []
    elif question:
        pool = [f"{n} " for n in names]
    elif len(words) == 1:
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
    it is from in that name's colour, the rest in the colour of the line's style. Whatever
    in it could drive the terminal is replaced (wire/shown_text.py)."""
    text, who = clean(line.text), line.who
    if not colour:
        return [("", PREFIX + text)]
    style = STYLE_COLOURS.get(line.style, "")
    parts: list[tuple[str, str]] = [("ansibrightblack", PREFIX)]
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

    def after_printed(self, then: Callable[[], None]) -> None:
        """Call `then` once every line shown so far is on the screen (at once if it is)."""

    def start(self, on_line: Callable[[str], None], on_end: Callable[[], None]) -> None: ...

    def set_prompt(self, text: str) -> None: ...

    async def stop(self) -> None: ...


class PlainConsole:
    """Lines in, lines out, for pipes, files and tests.

    When the output goes away (the reader of the pipe left: `ChatApp -c ... | head -1`),
    that is taken as the end of the input, as for any command-line tool whose output is
    gone: the peer leaves politely (what is on its way is delivered, then it deregisters)
    with nothing more shown, and no line read after that is carried out."""

    def __init__(self) -> None:
        self._out = StdoutLines(lambda reason: self._output_gone())
        self._on_end: Callable[[], None] | None = None  # until `start`, and once called
        self._ended = False

    def show(self, line: Print) -> None:
        # cleaned like the terminal's lines: the output of a pipe often ends up on one
        self._out.write(PREFIX + clean(line.text))

    def _output_gone(self) -> None:
        # Soon rather than now: `show` is called in the middle of carrying out the core's
        # actions, which must all be carried out before the core is told anything new.
        if self._on_end is not None:
            asyncio.get_running_loop().call_soon(self._end)

    def _end(self) -> None:
        """`on_end`, once only (the output gone and the input ended may both call it)."""
        if not self._ended and self._on_end is not None:
            self._ended = True
            self._on_end()

    def set_prompt(self, text: str) -> None:
        pass

    def after_printed(self, then: Callable[[], None]) -> None:
        then()  # each line is flushed as it is shown

    async def stop(self) -> None:
        pass

    def start(self, on_line: Callable[[str], None], on_end: Callable[[], None]) -> None:
        """Read stdin on a thread (it works for pipes, files and /dev/null alike)."""
        loop = asyncio.get_running_loop()

        # A stray invalid byte becomes U+FFFD instead of ending the session. Not possible
        # once something has read stdin (getpass does, for --password without a terminal):
        # the reader thread then copes with a bad byte itself, below.
        if hasattr(sys.stdin, "reconfigure"):
            with contextlib.suppress(io.UnsupportedOperation):
                sys.stdin.reconfigure(errors="replace")

        self._on_end = on_end
        if self._out.gone:  # gone before the start (a line shown while starting)
            loop.call_soon(self._end)
        self._out.watch_reader(loop)

        def typed(text: str) -> None:
            if not self._ended:  # after the output went away, nothing more is carried out
                on_line(text)

        def reader() -> None:
            try:
                for raw in sys.stdin:
                    loop.call_soon_threadsafe(typed, raw.rstrip("\r\n"))
            except (OSError, ValueError, UnicodeDecodeError):
                pass
            with contextlib.suppress(RuntimeError):  # the loop may be closed already
                loop.call_soon_threadsafe(self._end)

        threading.Thread(target=reader, name="stdin", daemon=True).start()


def _raw_input() -> Input | None:
    """The terminal's input for prompt_toolkit, never switched back to cooked mode.

    prompt_toolkit prints above a running prompt with run_in_terminal, which puts the
    terminal in cooked mode while it prints, so that a key pressed at that moment is echoed
    by the terminal itself into the middle of the incoming line. We never read input in
    that moment, so the terminal may as well stay raw: keys wait in the terminal's buffer
    and are read, unechoed, when the prompt is back.
    """
    if sys.platform == "win32" or not sys.stdin.isatty():
        return None  # prompt_toolkit's own choice
    from prompt_toolkit.input.vt100 import Vt100Input

    class RawInput(Vt100Input):
        def cooked_mode(self) -> contextlib.AbstractContextManager[None]:
            return contextlib.nullcontext()

    return RawInput(sys.stdin)


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

        self._colour = colour
        self._bell = bell
        self._me: Callable[[], str] = lambda: ""
        self._names: Callable[[], Sequence[str]] = list
        self._rooms: Callable[[], Sequence[str]] = list
        self._in_room: Callable[[], bool] = lambda: False
        self._cancel: Callable[[], bool] = lambda: False
        self._question: Callable[[], str] = str
        # One history for commands, one for each question of `message`: Up at the usual
        # prompt recalls commands only, and at `message to:` the names answered before.
        self._histories: dict[str, InMemoryHistory] = {}
        self._prompt = "> "
        console = self

        class _Complete(Completer):
            def get_completions(self, document: Document, event: object) -> Iterable[Completion]:
                asked, console._tab_on_line = console._tab_on_line, None
                if asked is not None and asked != console._lines_entered:
                    # prompt_toolkit completes after the keys read with the Tab: an Enter
                    # among them has sent the line, and this is the next, empty, one (it
                    # showed every command under a prompt nobody had pressed Tab at)
                    return
                before = document.text_before_cursor
                word = before.split(" ")[-1]
                for candidate in console._candidates(before):
                    yield Completion(candidate, start_position=-len(word))

        self._session: PromptSession[str] = PromptSession(
            history=self._history(),
            completer=_Complete(),
            complete_while_typing=False,
            erase_when_done=True,  # no dead prompt left under the last lines on leaving
            input=_raw_input(),
        )
        # lines entered so far, and the one a Tab was pressed on, until its completion
        # runs (see _Complete and `start`'s Tab)
        self._lines_entered = 0
        self._tab_on_line: int | None = None
        self._task: asyncio.Future[None] | None = None
        self._printing: set[asyncio.Future[None]] = set()
        self._stopping = False
        self._echoing: list[Any] | None = None  # the terminal's modes, while echo is off

    def _history(self) -> InMemoryHistory:
        """The history of what the next line is: commands, or an answer to a question."""
        from prompt_toolkit.history import InMemoryHistory

        return self._histories.setdefault(self._question(), InMemoryHistory())

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
        cancel: Callable[[], bool] = lambda: False,
        question: Callable[[], str] = str,
    ) -> None:
        """Where to find your own name (for the bell and the prompt's colour), the names
        online and the rooms known (to complete), and whether you are in a room; `cancel`
        is called on Ctrl-C and says whether it cancelled a question (see `start`), and
        `question` says which question the next line answers ("" for a command: see
        PeerCore.question), for completion and history."""
        self._me, self._names, self._rooms, self._in_room = me, names, rooms, in_room
        self._cancel, self._question = cancel, question

    def show(self, line: Print) -> None:
        self._print_above(fragments(line, self._colour))
        if self._bell and rings(line, self._me()):
            output = self._session.app.output
            output.bell()
            output.flush()

    def _print_above(self, parts: list[tuple[str, str]]) -> None:
        """Print a line above the prompt: prompt_toolkit erases the prompt, prints, and draws
        it again below with what was typed so far (the terminal stays raw: see _raw_input)."""
        from prompt_toolkit import print_formatted_text
        from prompt_toolkit.application import run_in_terminal
        from prompt_toolkit.formatted_text import FormattedText
        from prompt_toolkit.renderer import print_formatted_text as render_text
        from prompt_toolkit.styles import default_ui_style

        app = self._session.app
        if not app.is_running or app.is_done:
            print_formatted_text(FormattedText(parts))
            return

        def render() -> None:
            text = FormattedText([*parts, ("", "\n")])
            render_text(app.output, text, default_ui_style())
            app.output.flush()

        printed = asyncio.ensure_future(run_in_terminal(render))
        self._printing.add(printed)
        printed.add_done_callback(self._printing.discard)

    def after_printed(self, then: Callable[[], None]) -> None:
        if not self._printing:
            then()
            return
        from prompt_toolkit.application import run_in_terminal

        # Queued as the prints are, so that `then` runs right after the lines shown before
        # it and before those shown after it: the prints of one batch of lines all run in
        # one turn of the loop, and a task awaiting them would run only after the last
        # one (the shown records of a long mailbox all written at its end: see OnceShown).
        waiting = asyncio.ensure_future(run_in_terminal(then))
        self._printing.add(waiting)  # kept, and waited for by `stop` like a print
        waiting.add_done_callback(self._printing.discard)

    async def stop(self) -> None:
        """Finish printing what is on its way, then end the prompt (the peer is leaving)."""
        if self._printing:
            await asyncio.wait(set(self._printing), timeout=STOP_WAIT)
        self._stopping = True
        app = self._session.app
        if app.is_running and not app.is_done:
            with contextlib.suppress(Exception):  # it may be ending by itself right now
                app.exit()
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=STOP_WAIT)
        self._echo_again()

    def _echo_off(self) -> None:
        """The prompt has ended (Ctrl-C, Ctrl-D) but the peer runs on, delivering what was
        sent: the terminal, back in its usual mode, would echo what is typed meanwhile in
        the middle of the lines still coming, and a second Ctrl-C as `^C` with the next
        line joined to it (`^C>>> [...]`). Nothing typed now is carried out, so nothing is
        echoed; Ctrl-C still interrupts. `_echo_again` puts the modes back."""
        try:
            import termios
        except ImportError:  # no such terminal modes here (Windows)
            return
        try:
            fd = sys.stdin.fileno()
            modes = termios.tcgetattr(fd)
            quiet = termios.tcgetattr(fd)
            quiet[3] &= ~termios.ECHO
            termios.tcsetattr(fd, termios.TCSANOW, quiet)
        except (termios.error, OSError, ValueError):  # no terminal any more
            return
        self._echoing = modes

    def _echo_again(self) -> None:
        """The terminal's modes as they were before `_echo_off` (if it turned echo off),
        and what was typed since dropped: it was not carried out, and left in the terminal
        it would be read by the shell as the peer exits, and run as a command."""
        if self._echoing is None:
            return
        import termios

        with contextlib.suppress(termios.error, OSError, ValueError):
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSAFLUSH, self._echoing)
        self._echoing = None

    def _entered(self, text: str, on_line: Callable[[str], None]) -> None:
        """`text` was entered at the prompt: printed above it, as a finished prompt would
        leave it, kept in the history, and carried out (`on_line`)."""
        self._print_above([*self._prompt_text(), ("", text)])
        if text.strip():
            # kept in the history of what it answers (a command, or a question's answer),
            # whichever history the buffer had loaded
            history = self._history()
            if history.get_strings()[-1:] != [text]:
                history.append_string(text)
        # a paste of several lines is several lines, each carried out as if typed: sent as
        # one, its line breaks would reach the others as unreadable characters (only CR and
        # LF break it: str.splitlines would break at U+2028 and the like)
        for each in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            on_line(each)

    @staticmethod
    def _typed_ahead() -> TypedAhead:
        """What was typed before the prompt started (net/typed_ahead.py)."""
        try:
            fd = sys.stdin.fileno()
        except (OSError, ValueError):
            return TypedAhead()
        return read_typed_ahead(fd)

    def _candidates(self, before: str) -> list[str]:
        """What Tab offers for the last word of `before` (see `completions`)."""
        return completions(
            before,
            in_room=self._in_room(),
            names=self._names(),
            rooms=self._rooms(),
            me=self._me(),
            question=self._question(),
        )

    def _next_line(self, buffer: Buffer) -> None:
        """Empty the input for the next line, with the history of what that line is (Up
        walks it; it is loaded into the buffer anew as the buffer is reset)."""
        self._lines_entered += 1
        buffer.history = self._history()
        buffer.reset()

    def _prompt_text(self) -> list[tuple[str, str]]:
        style = f"{name_colour(self._me())} bold" if self._colour and self._me() else ""
        return [(style, self._prompt)]

    def start(self, on_line: Callable[[str], None], on_end: Callable[[], None]) -> None:
        """Run one prompt for the whole session. Enter does not end it: the line is printed
        above (as a finished prompt would leave it), the input is emptied and `on_line` is
        called. Between two prompts the terminal would be back in cooked mode for a moment
        and echo a key typed then into the middle of incoming lines; one long prompt never
        leaves raw mode. Ctrl-D on an empty line and Ctrl-C end it, and call `on_end`;
        but Ctrl-C at a question (`message` asking for the recipient or the text) only
        cancels that, when `cancel` (see `bind`) says it did, and the prompt goes on."""
        from prompt_toolkit.formatted_text import FormattedText
        from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent, merge_key_bindings
        from prompt_toolkit.key_binding.bindings.completion import generate_completions
        from prompt_toolkit.patch_stdout import patch_stdout

        keys = KeyBindings()

        @keys.add("enter")
        def _enter(event: KeyPressEvent) -> None:
            buffer = event.current_buffer
            self._entered(buffer.text, on_line)
            self._next_line(buffer)

        @keys.add("tab")
        def _tab(event: KeyPressEvent) -> None:
            # One candidate is put in at once: a Tab and an Enter read together (typed
            # fast, or pasted) send the line completed, as it was typed. Several go to
            # prompt_toolkit, which completes their common part and shows them once the keys
            # read with the Tab are done (see _Complete for an Enter among them).
            buffer = event.current_buffer
            if buffer.complete_state is None:
                before = buffer.document.text_before_cursor
                candidates = self._candidates(before)
                if len(candidates) == 1:
                    buffer.delete_before_cursor(len(before.split(" ")[-1]))
                    buffer.insert_text(candidates[0])
                    return
                self._tab_on_line = self._lines_entered  # a menu begins (else it cycles)
            generate_completions(event)

        @keys.add("c-c")
        def _interrupt(event: KeyPressEvent) -> None:
            if self._cancel():
                self._next_line(event.current_buffer)  # what was typed of the answer goes
                return
            # as prompt_toolkit's own Ctrl-C: the prompt ends, and the peer quits
            event.app.exit(exception=KeyboardInterrupt, style="class:aborting")

        async def loop() -> None:
            # (a task: what was typed ahead is carried out after the peer has started)
            ahead = self._typed_ahead()
            if ahead.lines:
                # The terminal echoed what was typed: the lines, and after them what was
                # typed of the next one (the prompt shows that once it reads it). Printed
                # from the start of that row, not after it.
                output = self._session.output
                output.write_raw("\r\x1b[K")
                output.flush()
            for text in ahead.lines:
                self._entered(text, on_line)
            if not ahead.ended:
                with (
                    patch_stdout(raw=True),
                    redrawn_on_continue(lambda: self._session.app),  # after kill -STOP and fg
                    contextlib.suppress(EOFError, KeyboardInterrupt),
                ):
                    await self._session.prompt_async(
                        lambda: FormattedText(self._prompt_text()),
                        key_bindings=merge_key_bindings([keys, stray_escapes()]),
                        default=ahead.partial,
                    )
            if not self._stopping:
                self._echo_off()
                on_end()

        self._task = asyncio.ensure_future(loop())
