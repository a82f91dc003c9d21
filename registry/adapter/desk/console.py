"""The registry's console as an operator at the desk, on connection id CONSOLE."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from msgspec import Struct

from registry.adapter.console_commands import COMMANDS
from registry.adapter.desk.files import Topic
from registry.adapter.desk.shelf import FolderShelf, keep_record, read_record
from registry.core.desk.actions import ConnId
from registry.core.desk.queue import HANDS_OVER
from wire.desk.commands import DutyScreen, is_operator_command
from wire.desk.messages import DeskLeave, DeskLine, DeskMessage, DeskOnDuty, DeskOperator
from wire.desk.render import render_operator
from wire.desk.text import ALL_TOPICS
from wire.shown_text import clean
from wire.version import WIRE_VERSION

if TYPE_CHECKING:
    from registry.adapter.desk.service import DeskService

CONSOLE: ConnId = "console"
CONSOLE_NAME = "admin"
#: What the console serves (`.serve`), kept in the data folder across a restart: an admin
#: who typed `.serve none` and walked away must not come back, after a crash, to a person
#: handed to a console nobody watches. No file means every topic.
CONSOLE_TOPICS_FILE = "desk-console.json"


class _Topics(Struct):
    topics: list[Topic]


class DeskConsole:
    """The console operator, serving as CONSOLE_NAME; off duty until `set_output`."""

    def __init__(self, desk: DeskService, data_dir: Path) -> None:
        self._desk = desk
        self._print: Callable[[str], None] | None = None
        self._put_back: Callable[[str], None] | None = None
        self._folder = FolderShelf(data_dir)
        self._kept = ALL_TOPICS  # what `.serve` chose, as kept on disk
        self._screen = DutyScreen(prompt=False)
        self._command = ""  # a bare registry command held back, sent if typed again

    def set_output(
        self, print_fn: Callable[[str], None], put_back: Callable[[str], None] | None = None
    ) -> None:
        """Go on duty, once (`put_back`: a line not sent goes back in the prompt)."""
        self._print, self._put_back = print_fn, put_back
        self._screen.prompt = put_back is not None
        kept, problem = read_record(self._folder, CONSOLE_TOPICS_FILE, _Topics, "list of topics")
        if problem:
            self._desk.log(f"{problem}; the console serves every topic")
        self._kept = tuple(sorted(set(kept.topics))) if kept is not None else ALL_TOPICS
        self._go_on_duty()
        if self._kept != ALL_TOPICS:
            self._say(
                "[Serving what .serve chose before the registry restarted; .serve all takes "
                "every topic.]"
            )

    def typed(self, line: str, begun: float | None = None) -> None:
        """A line the admin typed, begun at `begun` (None: now); never raises."""
        if self._print is None:
            return
        begun = self._desk.now() if begun is None else begun
        try:
            if CONSOLE not in self._desk.queue.state.conns:
                self._go_on_duty()
            if CONSOLE in self._desk.queue.state.conns:
                self._carry_out(line, begun)
        except Exception as exc:  # pragma: no cover - defensive
            self._desk.log(f"desk: internal error on a console line: {exc!r}")

    def wants(self, line: str, begun: float | None = None) -> bool:
        """Whether a console line is the desk's: a desk command, any line while serving, or one
        begun before the person served changed."""
        begun = self._desk.now() if begun is None else begun
        screen = self._screen
        mine = bool(screen.session) or begun < screen.switched_at
        return is_operator_command(line) or (self._print is not None and mine)

    def ended(self) -> None:
        if self._print is None or self._desk.queue.state.conns.get(CONSOLE) is None:
            return
        self._desk.hold_handovers()  # its person goes back to the front: see _carry_out
        self._send(DeskLeave(self._desk.new_id()))
        self._print = None

    @property
    def on_duty(self) -> bool:
        return self._print is not None

    @property
    def serves(self) -> str:
        """The name of the person served now, as shown ("": nobody)."""
        return clean(self._screen.serving) if self._print is not None else ""

    def show(self, message: DeskMessage) -> None:
        self._screen.heard(message, self._desk.now())
        if isinstance(message, DeskOnDuty) and message.topics != self._kept:
            self._kept = topics = message.topics
            kept = None if topics == ALL_TOPICS else _Topics(list(topics))
            problem = keep_record(self._folder, CONSOLE_TOPICS_FILE, kept)
            if problem:
                self._desk.log(problem)
        for text in render_operator(message):
            self._say(text)

    def _carry_out(self, line: str, begun: float) -> None:
        screen = self._screen
        parsed = screen.typed(line, begun, self._desk.new_id)
        for text in parsed.lines:
            self._say(text)
        if parsed.put_back and self._put_back is not None:
            self._put_back(parsed.put_back)
        message = parsed.message
        command, self._command = self._command, ""
        bare = screen.session and line.strip().lower() in COMMANDS
        if isinstance(message, DeskLine) and bare and line != command:
            # more likely the registry's: held back, once (not put back: `/who` after `who`
            # makes `who/who`)
            self._command, word = line, clean(line.strip())
            self._say(
                f"[Not sent: {word} is a registry command, and /{word.lower()} runs it; typed "
                f"again, it goes to {self.serves} as text.]"
            )
            return
        if parsed.quit:
            self._say("[The console stays on duty; .serve none stops it taking people.]")
        if message is not None:
            if isinstance(message, HANDS_OVER):
                self._desk.hold_handovers()  # as for any operator's
            self._send(message)

    def _go_on_duty(self) -> None:
        message = DeskOperator(
            self._desk.new_id(), CONSOLE_NAME, self._kept, self._desk.operator_key, WIRE_VERSION
        )
        self._send(message)

    def _send(self, message: DeskMessage) -> None:
        self._desk.apply(self._desk.queue.receive, CONSOLE, message)

    def _say(self, text: str) -> None:
        if self._print is not None:
            self._print(f"desk: {text}")
