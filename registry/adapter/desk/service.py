"""The help desk's asyncio adapter around `DeskQueue`: connections, clock, timer, files; and the
registry's console as an operator at the desk, on connection id CONSOLE."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from msgspec import Struct, structs

from disk.files import os_reason, read_bytes
from disk.operator_key import key_path, load_or_create_key
from disk.records import keep_record, read_record
from net.listener import enable_keepalive, has_hung_up
from net.served_stream import Frames, Handed, LateFrame
from net.wake import WakeTimer
from registry.adapter.commit import GroupCommit
from registry.adapter.console_commands import COMMANDS
from registry.adapter.desk.files import DeskFiles, Topic
from registry.adapter.store import FileStore
from registry.core.desk import operators
from registry.core.desk.actions import Action, Close, ConnId, DeskSend, Log
from registry.core.desk.limits import DEFAULTS, DeskSettings
from registry.core.desk.queue import HANDS_OVER, DeskQueue
from registry.core.table import Table
from secure.stream import SecureStream
from wire.base import IdMaker
from wire.codec import DecodeError, OtherVersion
from wire.desk.commands import DutyScreen, is_operator_command
from wire.desk.messages import (
    DeskJoin,
    DeskLeave,
    DeskLine,
    DeskMessage,
    DeskNotice,
    DeskOnDuty,
    DeskOperator,
    DeskRegistries,
    RoomRow,
)
from wire.desk.render import render_operator, room_lines
from wire.desk.text import ALL_TOPICS, DEFAULT_CRISIS_NOTICE, clean_crisis_notice
from wire.keys import fingerprint, key_from_text, key_text
from wire.messages import Message
from wire.shown_text import clean
from wire.version import WIRE_VERSION

#: Bytes that may pile up unsent to one connection before it is closed as too slow.
MAX_UNSENT = 256 * 1024
#: Turns of the event loop a connection's end (or a HANDS_OVER message) holds hand-overs
#: for: clients that left together while the registry was stopped are all read by then.
HOLD_TURNS = 3
#: Seconds a closing desk waits at most for what it keeps, and a last answer to leave.
CLOSE_FLUSH = 2.0
CLOSED = (
    "The help desk is closed at this registry (it cannot use its operator key); please try "
    "again later. Whoever runs the registry sees why on its console."
)
CONSOLE: ConnId = "console"
CONSOLE_NAME = "admin"
#: What the console serves (`.serve`), kept in the data folder across a restart: an admin
#: who typed `.serve none` and walked away must not come back, after a crash, to a person
#: handed to a console nobody watches. No file means every topic.
CONSOLE_TOPICS_FILE = "desk-console.json"


class DeskService:
    """The help desk inside the registry; closed when its operator key file holds no usable key
    (`problem` says why)."""

    def __init__(  # noqa: PLR0913 (where, its log, how; then its wiring: refusals, commits, clock)
        self,
        data_dir: Path,
        log: Callable[[str], None],
        settings: DeskSettings = DEFAULTS,
        *,
        rejected: Callable[[str, str], None] | None = None,
        commits: GroupCommit | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """What it keeps but transcripts goes in the store of `commits` (None: the files of
        `data_dir`, a desk alone). Nothing runs until `start`; OSError without an operator key,
        ValueError for settings out of bounds."""
        self.new_id = IdMaker(secrets.token_hex(4))
        self.key_path = key_path(data_dir)
        self.operator_key, self.problem = load_or_create_key(data_dir)
        notice = clean_crisis_notice(settings.crisis_notice) or DEFAULT_CRISIS_NOTICE
        closed = CLOSED if self.problem else ""
        settings = structs.replace(settings, crisis_notice=notice, closed=closed)
        self.log = log
        self.rejected = rejected or (lambda kind, line: log(line))
        self.now = clock
        store = FileStore(data_dir, log) if commits is None else commits.store
        self._commits = commits or GroupCommit(store, Table, lambda held: None, log)
        self._files = DeskFiles(data_dir, clock, log, self.operator_key, store)
        self.queue = DeskQueue(
            make_id=self.new_id,
            make_token=lambda: secrets.token_urlsafe(18),
            operator_key=self.operator_key,
            authorised=self._files.authorised,
            settings=settings,
        )
        self.console = DeskConsole(self, data_dir)
        self._conns: dict[ConnId, tuple[asyncio.StreamWriter, SecureStream]] = {}
        self._conn_ids = itertools.count(1)
        self._timer = WakeTimer(self._tick, clock=clock)
        self._started = self._closed = False
        #: Whether its places go on at another registry of its service once it closes.
        self.shared = False
        #: The registries of its service ("ip:port" each), told to each client first.
        self.registries: Callable[[], Sequence[str]] = tuple

    async def start(self) -> None:
        if not self._started and not self.problem:
            self._started = True
            self.apply(self._files.load, self.queue.state)

    async def close(self) -> None:
        if self._closed or self.problem:
            return
        self._closed = True
        if not self.shared:
            self.apply(self.queue.shutdown)
        # (else it goes on at the registry of the service that takes over, as after a crash)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._commits.settle(), CLOSE_FLUSH)
        for conn in list(self._conns):
            self._close(conn)
        self._timer.cancel()
        await asyncio.sleep(0)  # the transports flush their last frames

    async def handle_connection(self, handed: Handed) -> None:
        """Own one desk connection until it ends; never raises but CancelledError."""
        first, decoder, reader, writer = handed.first, handed.decoder, handed.reader, handed.writer
        if not self._started and not self._closed:
            await self.start()  # in case the registry did not: held places must expire
        conn: ConnId = f"t{next(self._conn_ids)}"
        self._conns[conn] = (writer, decoder)
        peer = writer.get_extra_info("peername")
        key = key_text(decoder.remote_key) if decoder.remote_key else ""
        self.queue.opened(conn, str(peer[0]) if isinstance(peer, tuple) and peer else "", key)
        enable_keepalive(writer)
        reason = "connection closed"
        try:
            if self._closed:
                reason = "desk closing"
            elif isinstance(first, DeskJoin | DeskOperator) and has_hung_up(reader, writer):
                # given up before it was read (a registry stopped by SIGSTOP still accepts):
                # it could hand a person to an absent operator
                reason = "its client had left before its first message was read"
            else:
                registries = tuple(self.registries())
                if registries:
                    self._write(conn, DeskRegistries(self.new_id(), "", registries))
                pending: list[Message] = [first, *handed.more, *decoder.feed(b"")]
                frames = Frames(decoder, reader, None, begun=decoder.pending > 0)
                reason = await self._converse(conn, pending, frames)
        except (ConnectionError, OSError) as exc:
            reason = f"connection error: {exc}"
        except asyncio.CancelledError:
            reason = "registry stopping"
            raise
        except Exception as exc:  # a bug must cost one connection, never the registry
            reason = f"internal error: {type(exc).__name__}: {exc}"
            self.log(f"desk: {reason}")
        finally:
            self._ended(conn, reason)

    async def _converse(self, conn: ConnId, pending: list[Message], frames: Frames) -> str:
        while conn in self._conns:
            for message in pending:
                if conn not in self._conns:
                    break
                if not isinstance(message, DeskMessage):
                    reason = f"{type(message).__name__} on a help-desk connection"
                    return self._refuse_frame(conn, reason)
                if isinstance(message, HANDS_OVER):
                    self.hold_handovers()
                self.apply(self.queue.receive, conn, message)
            if conn not in self._conns:
                break
            try:
                read = await frames.read()
            except (LateFrame, DecodeError) as exc:
                return self._refuse_frame(conn, _refusal(exc), str(exc))
            if read is None:
                break
            pending = read
        return "connection closed"

    def _ended(self, conn: ConnId, reason: str) -> None:
        self._close(conn)
        self.hold_handovers()
        self._safely("after a disconnection", self.queue.disconnected, conn, reason[:200])

    def hold_handovers(self) -> None:
        if self.queue.state.holding or self._closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self.queue.state.holding = True

        def turn(left: int) -> None:
            if left > 0:
                loop.call_soon(turn, left - 1)
            elif not self._closed:
                self._safely("after connections ended", self.queue.end_hold)

        loop.call_soon(turn, HOLD_TURNS - 1)

    def _refuse_frame(self, conn: ConnId, reason: str, detail: str = "") -> str:
        logged = reason if detail in reason else f"{reason} ({detail})"
        self.log(f"desk: closed connection {conn}: {logged}"[:300])
        self._write(conn, DeskNotice(self.new_id(), f"Closing the connection: {reason}"[:300]))
        self._close(conn)
        return reason

    def tell_registries(self) -> None:
        registries = tuple(self.registries())
        for conn in list(self._conns):
            self._write(conn, DeskRegistries(self.new_id(), "", registries))

    def operators(self) -> list[str]:
        if self.problem:
            return [f"  operators: {self.problem}"]
        kept = sorted(self.queue.state.authorised.items(), key=lambda item: item[1].casefold())
        lines = [f"  {clean(name):<20} key {_fingerprint(key)}" for key, name in kept]
        return lines or ["  no operator keys authorised (an operator shows the operator key)"]

    def waiting_room(self) -> list[str]:
        if self.problem:
            return [f"  desk: {self.problem}"]
        return [f"  {line}" for line in room_lines(self.queue.state.room("", self.now()))]

    def room_rows(self) -> tuple[RoomRow, ...] | None:
        return None if self.problem else self.queue.state.room("", self.now()).rows

    def revoke(self, name: str) -> str:
        if self.problem:
            return f"  revoke: {self.problem}"
        if not self.apply(operators.revoke, self.queue.state, name):
            return f"  no operator key authorised for {clean(name)}"
        return f"  revoked: {clean(name)} shows the operator key again to go on duty"

    def apply(self, entry: Callable[..., None], *args: object) -> list[Action]:
        """Run the queue's `entry` with `args`, now and an emit; keep and carry out what it
        emitted (the console's lines too), which is returned."""
        actions: list[Action] = []
        entry(*args, self.now(), actions.append)
        # kept before anyone is told theirs: a crash must not lose a place just shown; carried
        # out once the store committed what was kept: nobody is told of a place not kept
        self._files.keep(actions, self.queue.state)
        self._commits.after(lambda: self._carry_out(actions))
        if self._started and not self._closed:
            self._timer.set(self.queue.next_wake())
        return actions

    def _carry_out(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, DeskSend) and action.conn == CONSOLE:
                self.console.show(action.message)
            elif isinstance(action, DeskSend):
                self._write(action.conn, action.message)
            elif isinstance(action, Close) and action.conn != CONSOLE:
                self._close(action.conn)
            elif isinstance(action, Log) and action.kind:
                self.rejected(action.kind, action.line)
            elif isinstance(action, Log):
                self.log(action.line)

    def _write(self, conn: ConnId, message: DeskMessage) -> None:
        writer, stream = self._conns.get(conn) or (None, None)
        if writer is None or stream is None or writer.is_closing():
            return
        try:
            stream.send(message)
            writer.write(stream.output())
        except (ValueError, ConnectionError, OSError) as exc:
            self.log(f"desk: could not send {type(message).__name__} on {conn}: {exc}")
            self._close(conn)
            return
        if writer.transport.get_write_buffer_size() > MAX_UNSENT:
            self.log(f"desk: closed connection {conn}: it does not read what it is sent")
            self._close(conn)

    def _close(self, conn: ConnId) -> None:
        writer, stream = self._conns.pop(conn, (None, None))
        if stream is not None:
            stream.close()  # what it held counts against the process's budget no more
        if writer is not None:
            with contextlib.suppress(Exception):  # close() sends what is buffered first
                writer.close()

    def _tick(self) -> None:
        if not self._closed:
            self._safely("in the timer", self.queue.timer)

    def _safely(self, when: str, entry: Callable[..., None], *args: object) -> None:
        """`apply`, an error logged as internal `when` it happened: a bug must cost one event,
        never the registry."""
        try:
            self.apply(entry, *args)
        except Exception as exc:  # pragma: no cover - defensive
            self.log(f"desk: internal error {when}: {exc!r}")


def _refusal(exc: LateFrame | DecodeError) -> str:
    if isinstance(exc, OtherVersion):
        return "ChatApp versions differ; use one version on every machine"
    return f"bad frame: {exc}" if isinstance(exc, DecodeError) else str(exc)


def _fingerprint(key: str) -> str:
    raw = key_from_text(key)
    return fingerprint(raw) if raw is not None else key


class _Topics(Struct):
    topics: list[Topic]


class DeskConsole:
    """The console operator, serving as CONSOLE_NAME; off duty until `set_output`."""

    def __init__(self, desk: DeskService, data_dir: Path) -> None:
        self._desk = desk
        self._print: Callable[[str], None] | None = None
        self._put_back: Callable[[str], None] | None = None
        self._path = data_dir / CONSOLE_TOPICS_FILE
        self._kept = ALL_TOPICS  # what `.serve` chose, as kept on disk
        self._screen = DutyScreen(prompt=False)
        self._command = ""  # a bare registry command held back, sent if typed again

    def set_output(
        self, print_fn: Callable[[str], None], put_back: Callable[[str], None] | None = None
    ) -> None:
        """Go on duty, once (`put_back`: a line not sent goes back in the prompt)."""
        self._print, self._put_back = print_fn, put_back
        self._screen.prompt = put_back is not None
        kept, why = read_record(partial(read_bytes, self._path), _Topics, "list of topics")
        if why:
            self._desk.log(
                f"desk: could not read {self._path} ({why}); the console serves every topic"
            )
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
            try:
                keep_record(self._path, kept)
            except OSError as exc:
                self._desk.log(f"desk: could not keep {self._path} ({os_reason(exc)})")
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
