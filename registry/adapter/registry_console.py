"""The running registry's console: its output (log lines and answers, in order) and what is
typed there (registry commands, the help desk's)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from registry.adapter.console_commands import LOG_COMMAND, is_registry_command, run_command
from registry.adapter.desk.service import CONSOLE_NAME
from registry.adapter.settings import RegistrySettings
from terminal.asked_first import AskedFirst
from terminal.prompt import LinePrompt
from terminal.typed_ahead import LineSplitter, read_typed_ahead
from wire.desk.messages import RoomRow
from wire.keys import fingerprint, join_code
from wire.shown_text import clean
from wire.words import counted

if TYPE_CHECKING:
    from registry.adapter.server import RegistryServer

#: How log lines of errors start: shown even while `.log off` hides the log.
ERROR_MARK = "ERROR"


def stop_hint(desk: str = "") -> str:
    return f"quit or Ctrl-C stops the registry{desk}; it asks first while it serves anyone."


class ConsolePrompt:
    """The console's prompt on a terminal, every line printed above it. Ctrl-C or Ctrl-D on its
    empty line stops the registry; while it serves anyone it asks first (`y`, or the same key
    again). A registry of a service keeps it as its role changes. `whom()` says whom the
    registry serves ("2 peers online"; none: it stops without asking); `make` makes the prompt
    from LinePrompt's arguments (the full screen's, say); `says()` is the prompt's text."""

    def __init__(
        self,
        stop: Callable[[], None],
        whom: Callable[[], list[str]],
        make: Callable[..., LinePrompt] = LinePrompt,
        says: Callable[[], str] = lambda: "registry> ",
    ) -> None:
        self._prompt: LinePrompt = make(on_interrupt=self._interrupted, on_eof=self._interrupted)
        self._stop, self._whom, self._says = stop, whom, says
        self._ask = AskedFirst(self._question, stop, self._keeps_running)

    def print(self, line: str) -> None:
        self._prompt.print_above([("", line)])

    def start(self, on_line: Callable[[str, float], None], on_end: Callable[[], None]) -> None:
        """Each line entered goes to `on_line` with when it was begun, but the answer to the
        question before stopping; `on_end()` once input ends, SIGTERM and SIGINT stopping the
        registry again."""
        self._on_line, self._on_end = on_line, on_end
        self._prompt.set_prompt(self._prompt_says)
        self._prompt.start(self._line, self._ended)

    def _ended(self) -> None:
        stop_on_signals(self._stop)  # (the prompt took the loop's SIGINT handler as it ended)
        self._on_end()

    def _line(self, line: str) -> None:
        if not self._ask.answer(line):
            self._on_line(line, self._prompt.begun)

    def _question(self) -> str:
        whom = self._whom()
        return f"Stop the registry? It serves {' and '.join(whom)}. [y/N] " if whom else ""

    def _keeps_running(self, line: str) -> None:
        self.print("The registry keeps running.")

    def put_back(self, text: str) -> None:
        """`text` back on the line, after this pass (once the line entered is cleared)."""
        asyncio.get_running_loop().call_soon(self._prompt.put_back, text)

    async def stop(self) -> None:
        await self._prompt.stop()

    def _prompt_says(self) -> str:
        return self._ask.asked or self._says()

    def _interrupted(self) -> bool:
        if not self._ask.key():
            self._stop()
        self._prompt.set_prompt(self._prompt_says)  # drawn again: the question, or not
        return True


STOP_HINT = stop_hint(" (/quit while you serve someone at the help desk)")


class RegistryConsole:
    def __init__(
        self, registry: RegistryServer, out: Callable[[str], None], settings: RegistrySettings
    ) -> None:
        self._registry = registry
        make = self._screen(settings.colour) if settings.screen else LinePrompt
        self._prompt = (
            ConsolePrompt(registry.stop, self.whom, make, self._prompt_says)
            if settings.prompt
            else None
        )
        self.out = printable(self._prompt.print if self._prompt is not None else out)
        # lines waiting for the end of this pass, with the time of a log line
        self._lines: list[tuple[str, float | None]] = []
        self._log_on_screen = settings.log_on_screen  # (else `.log off` hides nothing)
        # while `.log off` hides the log: how many lines it hid (None: the log is shown)
        self._hidden: int | None = None
        self.operator = settings.console_operator

    def _screen(self, colour: bool) -> Callable[..., LinePrompt]:
        from registry.adapter.console_screen import ConsoleScreen

        return lambda **prompt: ConsoleScreen(self, colour=colour, **prompt)

    def listening(self) -> str:
        return f"{self._registry.bind}:{self._registry.port}"

    def online(self) -> int:
        return len(self._registry.core.table.online())

    def stored(self) -> int:
        return sum(len(box) for box in self._registry.core.mail.values())

    def room_rows(self) -> Sequence[RoomRow] | None:
        return self._registry.desk.room_rows()  # (None: no help desk)

    def to_desk(self, line: str) -> bool:
        """Whether `line` goes to the help desk, as `line` takes it: a /command is the
        registry's, even while serving."""
        return not line.lstrip().startswith("/") and self._registry.desk.console.wants(line)

    def log(self, line: str) -> None:
        """One timestamped line, written in order at the end of this pass."""
        self._later(line, time.time())

    def say(self, line: str) -> None:
        """One line of the console's answer, after the log lines still to be written."""
        if not self._lines and not self._registry.commits.is_open:
            self.out(line)
            return
        self._later(line, None)

    def _later(self, line: str, at: float | None) -> None:
        self._lines.append((line, at))
        if len(self._lines) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.write)
            except RuntimeError:  # no loop running: nothing to wait for
                self.write()

    @property
    def waiting(self) -> bool:
        return bool(self._lines)

    def write(self) -> None:
        """Write the lines waiting, unless a commit is open (it calls again after its sends)."""
        if self._registry.commits.is_open:
            return
        lines, self._lines = self._lines, []
        for line, at in lines:
            if at is None:
                self.out(line)
            # a log line `.log off` hides is counted instead (errors always show)
            elif line.startswith(ERROR_MARK) or self._hidden is None:
                self.out(f"{time.strftime('%H:%M:%S', time.localtime(at))} {line}")
            else:
                self._hidden += 1

    def started(self) -> None:
        desk = self._registry.desk
        if self.operator and not desk.problem:
            self.out(
                f"This console is the help desk's operator {CONSOLE_NAME}, as it runs "
                "on a terminal: people who ask for help (ChatApp -d) are handed to you here."
            )
            self.out(
                "  .serve none stops that (.serve all resumes); --no-desk-console starts the "
                "registry without it."
            )
            self.out(self._log_hint())
            # on duty after the lines above, and through `say`: what it says comes under them
            desk.console.set_output(self.say, self._prompt.put_back if self._prompt else None)
        elif self._prompt is not None:
            if not desk.problem:  # a closed desk said so above
                self.out(
                    "This console does not serve at the help desk (--no-desk-console); "
                    "ChatApp -o serves there."
                )
            self.out(self._log_hint())
        if self._prompt is not None:
            self.out(STOP_HINT)

    async def stop(self) -> None:
        self.write()
        if self._prompt is not None:
            await self._prompt.stop()

    def line(self, line: str, begun: float | None = None) -> None:
        """A line typed, begun at `begun` (None: now): a registry command, or the help desk's
        (any line while it serves someone, but a "/" command)."""
        words = line.split()
        if words and words[0].lower() == LOG_COMMAND:
            # the console's, even while it serves someone
            self.say(self._log_command(words[1:]))
            return
        if words and words[0].startswith("/") and is_registry_command(line):
            self._command([words[0][1:], *words[1:]])
            return
        begun = time.monotonic() if begun is None else begun
        desk = self._registry.desk
        if desk.console.wants(line.rstrip("\n"), begun):
            if desk.problem:
                self.say(f"  {words[0]}: {desk.problem}")
            elif not desk.console.on_duty:
                self.say(
                    f"  {words[0]} is a help-desk command, and this console does not serve at "
                    f"the help desk ({self._why_no_desk()}); ChatApp -o serves there"
                )
            else:
                desk.console.typed(line.rstrip("\n"), begun)
            return
        if words:
            self._command(words)

    def _log_command(self, words: list[str]) -> str:
        match [w.lower() for w in words]:
            case ["off"] if not self._log_on_screen:
                return "  the log goes to a file or a pipe here, not to a screen: it is not hidden"
            case ["off"]:
                self._hidden = self._hidden or 0  # (hiding already: the count goes on)
                return (
                    "  log lines are hidden from this console now (errors still show); "
                    ".log on shows them"
                )
            case ["on"]:
                hidden, self._hidden = self._hidden, None
                if hidden is None:
                    return "  log lines are shown on this console already"
                return f"  log lines are shown again; {counted(hidden, 'line')} hidden meanwhile"
            case _:
                return (
                    f"  usage: {LOG_COMMAND} off | {LOG_COMMAND} on   "
                    "(hide or show the log lines here)"
                )

    def _log_hint(self) -> str:
        if not self._log_on_screen:
            return "  help lists every command of this console."
        return "  .log off hides the log lines here (.log on shows them); help lists every command."

    def _why_no_desk(self) -> str:
        if not self.operator and self._prompt is not None:
            return "--no-desk-console was given"
        if not self.operator:
            return "its input is not a terminal, or --no-desk-console was given"
        return "its input ended"

    def _command(self, words: list[str]) -> None:
        for line in run_command(words, self._registry):
            self.say(line)

    def ended(self) -> None:
        if self.operator:
            self._registry.desk.console.ended()
            self.out(
                "Console input ended; the registry keeps running (Ctrl-C stops it). The console "
                "is off duty at the help desk."
            )

    def read(self, stdin: TextIO | None = None) -> None:
        """Carry out the lines typed (on `stdin` if given), those typed ahead first."""
        source = stdin or self._prompt or sys.stdin
        read_console(source, self.line, self._registry.stop, self.say, self.ended)

    def _prompt_says(self) -> str:
        serves = self._registry.desk.console.serves
        return f"to {serves}> " if serves else "registry> "

    def whom(self) -> list[str]:
        online = self.online()
        at_desk = self._registry.desk.console.serves
        whom = [f"{counted(online, 'peer')} online"] if online else []
        return whom + ([f"{at_desk} at the help desk"] if at_desk else [])


def read_console(
    source: ConsolePrompt | TextIO,
    line: Callable[[str, float | None], None],
    stop: Callable[[], None],
    say: Callable[[str], None],
    ended: Callable[[], None] = lambda: None,
) -> None:
    """Stop on SIGTERM and SIGINT; carry out each line typed at the prompt, or else read from
    `source` on a thread, those typed ahead first (each one `say`s): each to `line` (None: begun
    as it is read), then `ended`, both called in the running event loop."""
    stop_on_signals(stop)
    if isinstance(source, ConsolePrompt):
        source.start(line, ended)
        return
    stdin: TextIO = source
    lines, pending = typed_ahead(stdin)
    for typed in lines:
        if typed.strip():
            say(f"Typed as the registry started, carried out now: {typed}")
        line(typed, None)
    loop = asyncio.get_running_loop()

    def post(call: Callable[..., None], *args: str | None) -> None:
        # the registry may have stopped (its loop closed) while a line was being read
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(call, *args)

    def reader() -> None:
        splitter = LineSplitter(pending)
        with contextlib.suppress(OSError, ValueError):
            for text in stdin:
                for each in splitter.feed(text):
                    post(line, each, None)
        if splitter.pending:  # the input ended in the middle of a line: it is one still
            post(line, splitter.pending, None)
        post(ended)

    threading.Thread(target=reader, name="console", daemon=True).start()


def typed_ahead(stdin: TextIO) -> tuple[list[str], str]:
    """What waits in `stdin` before anything reads it: the lines finished, and one begun."""
    try:
        ahead = read_typed_ahead(stdin.fileno(), unfinished=True)
    except (OSError, ValueError):
        return [], ""
    return list(ahead.lines), ahead.partial


def stop_on_signals(stop: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop)


def printable(out: Callable[[str], None]) -> Callable[[str], None]:
    return lambda line: out(clean(line))  # (log lines quote the network)


def key_lines(public: bytes, made: bool, *, service: bool = False) -> list[str]:
    made_text = " (made just now)" if made else ""
    if service:
        whose = f"This service's key{made_text}"
        meets = "every registry of the service answers with it"
    else:
        whose = f"This registry's key{made_text}"
        meets = "peers are shown it when they first meet it"
    return [
        f"{whose} has the fingerprint {fingerprint(public)}: {meets}.",
        "Join code: peers and help-desk clients started with it trust this key alone, "
        "without asking" + (" (at any registry of it):" if service else ":"),
        # a line of its own, so that a narrow pane does not break the code where it is copied
        f"--registry-key {join_code(public)}",
    ]
