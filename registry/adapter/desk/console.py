"""The registry's console as an operator at the help desk (docs/DESK.md, "The registry
console"), on a connection id of its own (CONSOLE), parsing lines as `ChatApp -o` does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from msgspec import Struct

from registry.adapter.console_commands import COMMANDS
from registry.adapter.desk.files import Topic
from registry.adapter.desk.shelf import FolderShelf, keep_record, read_record
from registry.core.desk.actions import Action, ConnId, SessionLine
from registry.core.desk.queue import HANDS_OVER, DeskQueue
from registry.core.desk.state import Operator, Session, sorted_topics
from wire.desk.commands import OPERATOR_HELP, is_operator_command, parse_operator_line
from wire.desk.messages import DeskEnd, DeskLeave, DeskLine, DeskMessage, DeskOperator
from wire.desk.render import render_operator
from wire.desk.text import ALL_TOPICS
from wire.shown_text import clean
from wire.version import WIRE_VERSION

#: The connection id of the registry's own console operator.
CONSOLE: ConnId = "console"
#: The name the registry console serves under.
CONSOLE_NAME = "admin"
#: What the console serves (`.serve`), kept in the data folder across a restart: an admin
#: who typed `.serve none` and walked away must not come back, after a crash, to a person
#: handed to a console nobody watches. No file means every topic.
CONSOLE_TOPICS_FILE = "desk-console.json"
#: The console's command that sends the line held back.
SEND_HELD = ".send"
#: `.help` on the registry console: the operator's commands and the console's own.
CONSOLE_HELP: tuple[str, ...] = (
    *OPERATOR_HELP[:3],
    f"  {SEND_HELD:<14} send the line held back (begun before a hand-over, or a command)",
    *OPERATOR_HELP[3:],
)


class _Topics(Struct):
    topics: list[Topic]


class ConsoleDesk(Struct, frozen=True):
    """The desk the console serves at, as the console uses it."""

    queue: DeskQueue
    operator_key: str
    now: Callable[[], float]
    new_id: Callable[[], str]
    log: Callable[[str], None]
    hold_handovers: Callable[[], None]
    carry_out: Callable[[list[Action]], None]


class DeskConsole:
    """The console operator of `desk`, serving under `name`; off duty until `set_output`."""

    def __init__(self, desk: ConsoleDesk, data_dir: Path, name: str = CONSOLE_NAME) -> None:
        self._desk = desk
        self._name = name
        self._print: Callable[[str], None] | None = None
        self._folder = FolderShelf(data_dir)
        self._kept = ALL_TOPICS  # what `.serve` chose, as kept on disk
        # the console's session, when it began, when it last changed, and the line held
        self._session = ""
        self._switched = float("-inf")
        self._began = float("-inf")
        self._held = ""

    # -- for the registry -------------------------------------------------------------------

    def set_output(self, print_fn: Callable[[str], None]) -> None:
        """Go on duty, printing through `print_fn`, serving what `.serve` chose before a
        restart or every topic. Call once, when the registry runs on a terminal."""
        self._print = print_fn
        kept, problem = read_record(self._folder, CONSOLE_TOPICS_FILE, _Topics, "list of topics")
        if problem:
            self._desk.log(f"{problem}; the console serves every topic")
        topics = tuple(sorted(set(kept.topics))) if kept is not None else ALL_TOPICS
        self._kept = topics
        self._go_on_duty()
        if topics != ALL_TOPICS:
            self._say(
                "[Serving what .serve chose before the registry restarted; .serve all takes "
                "every topic.]"
            )

    def typed(self, line: str, begun: float | None = None) -> None:
        """A line the admin typed, begun at `begun` (the desk's clock; None: now). Never
        raises."""
        if self._print is None:
            return
        begun = self._desk.now() if begun is None else begun
        try:
            if self._for_the_session_before(begun) and not _is_desk_command(line):
                if line.strip():
                    self._say(f"[Not sent (typed for the session before): {clean(line)}]")
                return
            if line.strip().lower() == SEND_HELD:
                self._send_held()
                return
            if self._me() is None:
                self._go_on_duty()
                if self._me() is None:
                    return
            self._carry_out(line, begun)
        except Exception as exc:  # pragma: no cover - defensive
            self._desk.log(f"desk: internal error on a console line: {exc!r}")

    def wants(self, line: str, begun: float | None = None) -> bool:
        """Whether a console line belongs to the desk: a desk command, any line while the
        console serves someone, or one begun during a session ended since."""
        begun = self._desk.now() if begun is None else begun
        in_session = self._session_now() is not None
        return _is_desk_command(line) or in_session or self._for_the_session_before(begun)

    def ended(self) -> None:
        """The console's input ended (Ctrl-D): it goes off duty."""
        if self._print is None or self._me() is None:
            return
        self._desk.hold_handovers()  # its person goes back to the front: see _carry_out
        self._send(DeskLeave(self._desk.new_id()))
        self._print = None

    @property
    def on_duty(self) -> bool:
        """Whether the console serves at the desk (`set_output`, and input not ended)."""
        return self._print is not None

    @property
    def serves(self) -> str:
        """The name of the person the console serves now, as shown, or "" (nobody)."""
        session = self._session_now()
        return clean(session.person.name) if session is not None else ""

    # -- for the desk -----------------------------------------------------------------------

    def show(self, message: DeskMessage) -> None:
        """A message from the desk, printed as an operator reads it."""
        for text in render_operator(message):
            self._say(text)

    def follow(self) -> None:
        """After actions were carried out: note whether the console's session changed."""
        if self._print is None:
            return
        now = self._session_now()
        session = now.id if now is not None else ""
        if session != self._session:
            if session:
                self._began = self._desk.now()
            self._session = session
            self._switched = self._desk.now()
            self._held = ""

    # -- lines ------------------------------------------------------------------------------

    def _carry_out(self, line: str, begun: float) -> None:
        """`line`, parsed as an operator's, carried out unless held back (`_holds`)."""
        me = self._me()
        topics = ALL_TOPICS if me is None else sorted_topics(me.topics)
        session = me.session.id if me is not None and me.session is not None else ""
        parsed = parse_operator_line(
            line, self._desk.new_id, topics, session, help_lines=CONSOLE_HELP
        )
        for text in parsed.lines:
            self._say(text)
        # a line or `.end` begun before the console was shown a new person
        if isinstance(parsed.message, DeskLine | DeskEnd) and session and begun < self._switched:
            self._hold(parsed.message, before=True)
            return
        if isinstance(parsed.message, DeskLine) and line.strip().lower() in COMMANDS:
            self._hold(parsed.message, before=False)
            return
        if parsed.quit:
            self._say("[The console stays on duty; .serve none stops it taking people.]")
        if parsed.message is not None:
            if isinstance(parsed.message, HANDS_OVER):
                self._desk.hold_handovers()  # as for any operator's
            self._send(parsed.message)
            self._keep_topics()

    def _for_the_session_before(self, begun: float) -> bool:
        """Whether a line was begun during the console's last session, ended since with
        nobody next: meant for that person, it is neither sent nor run."""
        return (
            self._print is not None and not self._session and self._began <= begun < self._switched
        )

    def _hold(self, message: DeskLine | DeskEnd, *, before: bool) -> None:
        """Hold back a line (or do not carry out an `.end`) begun `before` the person
        served was handed over, or a line that is exactly a registry command (more likely
        the registry's)."""
        who = self.serves
        if isinstance(message, DeskEnd):
            self._say(
                f"[.end not carried out: you began it before {who} was handed over to you. "
                f".end again ends the session with {who}.]"
            )
            return
        self._held = message.text
        if before:
            self._say(
                f"[Not sent: you began this line before {who} was handed over to you. "
                f"{SEND_HELD} sends it to {who}. The line was: {clean(message.text)}]"
            )
            return
        word = clean(message.text.strip())
        self._say(
            f"[Not sent: {word} is a registry command. /{word.lower()} runs it; "
            f"{SEND_HELD} sends it to {who} as text.]"
        )

    def _send_held(self) -> None:
        """`.send`: the line held back goes to the person served."""
        text, self._held = self._held, ""
        if not text or not self._session:
            self._say(f"[No line is held back; {SEND_HELD} sends one held as a session began.]")
            return
        message = DeskLine(self._desk.new_id(), "", text, self._session)
        who = self.serves
        actions = self._send(message)
        if any(isinstance(action, SessionLine) for action in actions):
            # a line typed on the console is on the screen already; this one was not
            self._say(f"[Sent to {who}: {clean(text)}]")

    # -- duty and topics --------------------------------------------------------------------

    def _go_on_duty(self) -> None:
        message = DeskOperator(
            self._desk.new_id(), self._name, self._kept, self._desk.operator_key, WIRE_VERSION
        )
        self._send(message)

    def _keep_topics(self) -> None:
        """Keep what the console serves, when `.serve` changed it."""
        me = self._me()
        topics = sorted_topics(me.topics) if me is not None else None
        if topics is not None and topics != self._kept:
            self._kept = topics
            kept = None if topics == ALL_TOPICS else _Topics(list(topics))
            problem = keep_record(self._folder, CONSOLE_TOPICS_FILE, kept)
            if problem:
                self._desk.log(problem)

    def _me(self) -> Operator | None:
        """The console's operator at the desk; None while it is not on duty there."""
        me = self._desk.queue.on(CONSOLE)
        return me if isinstance(me, Operator) else None

    def _session_now(self) -> Session | None:
        """The session the console serves in now, or None."""
        me = self._me()
        return me.session if me is not None else None

    def _send(self, message: DeskMessage) -> list[Action]:
        """`message` from the console to the desk, carried out; the desk's actions."""
        actions = self._desk.queue.receive(CONSOLE, message, self._desk.now())
        self._desk.carry_out(actions)
        return actions

    def _say(self, text: str) -> None:
        if self._print is not None:
            self._print(f"desk: {text}")


def _is_desk_command(line: str) -> bool:
    return is_operator_command(line) or line.strip().lower() == SEND_HELD
