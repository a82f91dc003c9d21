"""The help desk's asyncio adapter: TCP connections, the clock, transcripts and the console
around the sans-IO `DeskQueue` (issue 4).

The registry hands every TCP connection whose first frame is a desk message to
`DeskService.handle_connection`, which owns it from then on. The registry's console is an
operator too, once the registry calls `set_console_output`; its lines come in through
`console_line` and are parsed exactly like those of `ChatApp -o`.

Run as `python -m registry.desk.service --port 0 --data-dir DIR` for a standalone desk
(tests and trials): it prints `desk listening on HOST:PORT` and serves until stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeGuard

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from net.endpoint import FRAME_DEADLINE
from net.files import os_reason, parse_json, read_text, replace_durably
from net.keys import load_or_make_key
from net.listener import enable_keepalive, has_hung_up
from net.operator_key import key_path
from net.secure_stream import KeyGiven, SecureStream
from registry.desk.actions import (
    Action,
    Close,
    ConnId,
    KeepOperators,
    KeepPlaces,
    Log,
    Send,
    SessionEnded,
    SessionLine,
    SessionStarted,
)
from registry.desk.console_topics import ConsoleTopics
from registry.desk.estimate import Estimator
from registry.desk.history import History, HistoryFile
from registry.desk.key import DeskKeyError, load_or_create_key
from registry.desk.limits import GRACE, MAX_WAITING, RECLAIM_WINDOW, TYPICAL_SESSION
from registry.desk.people import Operator
from registry.desk.places import PlacesFile
from registry.desk.queue import DeskQueue
from registry.desk.records import TranscriptStore
from wire.desk.commands import OPERATOR_HELP, is_operator_command, parse_operator_line
from wire.desk.messages import (
    DESK_TYPES,
    HEARTBEAT,
    DeskEnd,
    DeskJoin,
    DeskLeave,
    DeskLine,
    DeskMessage,
    DeskNotice,
    DeskOperator,
    DeskServe,
)
from wire.desk.render import render_operator
from wire.desk.text import ALL_TOPICS, DEFAULT_CRISIS_NOTICE, clean_crisis_notice
from wire.errors import DecodeError, OtherVersion
from wire.keys import key_from_text, key_text
from wire.messages import Message
from wire.reliable import IdMaker
from wire.shown_text import clean
from wire.version import WIRE_VERSION

#: The connection id of the registry's own console operator.
CONSOLE: ConnId = "console"
#: The name the registry console serves under.
CONSOLE_NAME = "admin"
#: Bytes read from a connection at a time.
READ_CHUNK = 64 * 1024
#: The console's command that sends a line held back as a new person was handed over (a
#: line begun before the notice of that hand-over appeared: see `_console_holds`).
SEND_HELD = ".send"
#: `.help` on the registry console: the operator's commands and the console's own.
CONSOLE_HELP: tuple[str, ...] = (
    *OPERATOR_HELP[:3],
    f"  {SEND_HELD:<14} send the line held back as a new person was handed over to you",
    *OPERATOR_HELP[3:],
)
#: Bytes that may pile up unsent to one connection before it is closed as too slow: far
#: more than a desk conversation ever queues, far less than memory to worry about.
MAX_UNSENT = 256 * 1024
#: Turns of the event loop a connection's end (or a message in HANDS_OVER) holds the
#: desk's hand-overs for (see `DeskQueue.hold`). Connections whose clients left together
#: (while the registry was stopped with SIGSTOP) are all readable at the first turn after
#: it runs again: their tasks see the end, or a last frame, one turn later, and an end
#: after a last frame one or two more. Counting turns, not time, holds nobody up longer
#: than what is already there takes to read.
HOLD_TURNS = 3
#: What may hand someone over: a person joining (to an operator free), an operator going on
#: duty, or serving more topics (`.serve`), a session or a duty ending (the next person, or
#: the one put back at the front, goes to whoever is free). Each holds hand-overs as a
#: connection's end does: the other side of that hand-over may have typed `.quit` at that
#: moment, not read yet. (`.first` only reorders who is next: anyone it could hand over
#: was handed over already.)
HANDS_OVER = (DeskJoin, DeskOperator, DeskServe, DeskEnd, DeskLeave)


class DeskService:
    """The help desk inside the registry: one DeskQueue, its connections and timers."""

    def __init__(
        self,
        data_dir: Path,
        log: Callable[[str], None],
        crisis_notice: str | None = None,
        grace: float = GRACE,
        *,
        max_waiting: int = MAX_WAITING,
        console_name: str = CONSOLE_NAME,
        clock: Callable[[], float] = time.monotonic,
        heartbeat: float = HEARTBEAT,
        typical_session: float = TYPICAL_SESSION,
    ) -> None:
        """`data_dir` is the registry's data directory (transcripts go in a folder of it,
        and the operator key is kept there: see registry.desk.key); `log` receives log
        lines, never holding a full phone number; `crisis_notice` replaces the default
        text shown for topic 1; `grace` is how many seconds a waiting person's place is kept
        after a lost connection; `heartbeat` the seconds of silence after which a connection
        is asked for a sign of life (taken as lost after twice that: `HEARTBEAT`);
        `typical_session` the seconds a session is taken to last in the wait estimates
        until enough have been measured. Nothing runs until `start`. Raises DeskKeyError
        (registry.desk.key) when the operator key file holds no usable key, OSError when a
        key can be neither read nor made, or ValueError for a `heartbeat` or
        `typical_session` not above 0."""
        notice = clean_crisis_notice(crisis_notice or "") or DEFAULT_CRISIS_NOTICE
        self._new_id = IdMaker(secrets.token_hex(4))
        self.key_path = key_path(data_dir)
        self._key = load_or_create_key(data_dir)
        self._operators_path = data_dir / OPERATORS_FILE
        authorised, self._operators_problem = _read_operators(self._operators_path)
        self.queue = DeskQueue(
            authorised=authorised,
            make_id=self._new_id,
            make_token=lambda: secrets.token_urlsafe(18),
            operator_key=self._key,
            crisis_notice=notice,
            grace=grace,
            max_waiting=max_waiting,
            heartbeat=heartbeat,
            estimator=Estimator(typical=typical_session),
        )
        self._records = TranscriptStore(data_dir)
        self._places = PlacesFile(data_dir, clock)
        self._history = HistoryFile(data_dir)
        self._history_kept: History | None = None  # as last kept on disk
        self._log = log
        self._clock = clock
        self._console_name = console_name
        self._console: Callable[[str], None] | None = None
        self._console_topics = ConsoleTopics(data_dir)
        self._console_kept = ALL_TOPICS  # what `.serve` chose, as kept on disk
        # the console's session, when it began, when the console's session last changed
        # (each shown on the console at that moment), and a line held back as it began
        self._console_session = ""
        self._console_switched = float("-inf")
        self._console_began = float("-inf")
        self._console_held = ""
        self._writers: dict[ConnId, asyncio.StreamWriter] = {}
        # each connection's secure session (net/secure_stream.py): what is written goes in it
        self._streams: dict[ConnId, SecureStream] = {}
        self._conn_ids = itertools.count(1)
        self._wake: asyncio.Event | None = None
        self._timer: asyncio.Task[None] | None = None
        self._closed = False
        self._holding = False  # the queue holds hand-overs (see _hold_handovers)

    # -- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Hold the places kept by a run that stopped without closing the desk, and start
        the timer that expires held places and sends held-back position pushes. Await once,
        inside the registry's event loop, before any connection."""
        if self._timer is None:
            if self._operators_problem:
                self._log(f"desk: {self._operators_problem}; operators show the key again")
            history, problem = self._history.load()
            if problem:
                self._log(problem)
            if history is not None:
                self.queue.estimator.restore_history(*history)
            self._history_kept = self.queue.estimator.history()
            places, problem = self._places.load()
            if problem:
                self._log(problem)
            self._apply(self.queue.restore(places, self._clock()))
            self._wake = asyncio.Event()
            self._timer = asyncio.create_task(self._run_timer(), name="desk-timer")

    async def close(self) -> None:
        """Tell everyone the desk is closing, end sessions (transcripts included), close
        every connection and stop the timer. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        self._apply(self.queue.shutdown(self._clock()))
        for conn in list(self._writers):
            self._close(conn)
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        # Let the transports flush their last frames before the loop goes away.
        await asyncio.sleep(0)

    # -- connections ----------------------------------------------------------------------

    async def handle_connection(
        self,
        first: Message,
        decoder: SecureStream,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        more: Sequence[Message] = (),
    ) -> None:
        """Own one desk connection until it ends. `first` is its first message (a desk
        type); `decoder` is the connection's secure session already used on it, possibly holding the
        start of further frames; `more` are messages the caller decoded after `first` in the
        same read, if any. Never raises, except CancelledError when the caller is
        cancelled; bad or oversized frames close this connection only."""
        if self._timer is None and not self._closed:
            await self.start()  # in case the registry did not: held places must expire
        conn: ConnId = f"t{next(self._conn_ids)}"
        reason = "connection closed"
        self._writers[conn] = writer
        self._streams[conn] = decoder
        peer = writer.get_extra_info("peername")
        # every connection is opened, with or without an address: it is watched for silence
        key = key_text(decoder.remote_key) if decoder.remote_key else ""
        self.queue.opened(conn, str(peer[0]) if isinstance(peer, tuple) and peer else "", key)
        enable_keepalive(writer)
        try:
            if self._closed:
                reason = "desk closing"
                return
            if isinstance(first, DeskJoin | DeskOperator) and has_hung_up(reader, writer):
                # An attempt its client gave up on before we read it (a registry stopped
                # with SIGSTOP still accepts connections, and a client tries again every
                # few seconds): acted on, it would take a place back or go on duty only to
                # be lost at once, and fill the log with both; a person could even be handed
                # to an operator who is not there. A DeskGiveUp is still carried out: its
                # client said it and left, as it should.
                reason = "its client had left before its first message was read"
                return
            pending: list[Message] = [first, *more, *decoder.feed(b"")]
            clock = asyncio.get_running_loop().time
            # when the frame being read began (None: between frames, where waiting in
            # silence is the point): it must be whole within FRAME_DEADLINE, or a sender
            # trickling a byte now and then would hold the connection for ever
            began: float | None = clock() if decoder.pending else None
            while conn in self._writers:
                for message in pending:
                    if conn not in self._writers:
                        break
                    if not _is_desk(message):
                        reason = f"{type(message).__name__} on a help-desk connection"
                        self._refuse_frame(conn, reason)
                        break
                    if isinstance(message, HANDS_OVER):
                        self._hold_handovers()
                    self._apply(self.queue.receive(conn, message, self._clock()))
                if conn not in self._writers:
                    break
                if began is None:
                    data = await reader.read(READ_CHUNK)
                else:
                    wait = max(0.0, began + FRAME_DEADLINE - clock())
                    try:
                        data = await asyncio.wait_for(reader.read(READ_CHUNK), wait)
                    except TimeoutError:
                        reason = f"no whole frame within {FRAME_DEADLINE:g} s"
                        self._refuse_frame(conn, reason)
                        break
                if not data:
                    break
                try:
                    pending = list(decoder.feed(data))
                    if not decoder.pending:
                        began = None
                    elif began is None or pending:
                        began = clock()  # a frame began in this read
                except OtherVersion as exc:
                    reason = f"ChatApp versions differ ({exc}); use one version on every machine"
                    self._refuse_frame(conn, reason)
                    break
                except DecodeError as exc:
                    reason = f"bad frame: {exc}"
                    self._refuse_frame(conn, reason)
                    break
        except (ConnectionError, OSError) as exc:
            reason = f"connection error: {exc}"
        except asyncio.CancelledError:
            reason = "registry stopping"
            raise
        except Exception as exc:  # a bug must cost one connection, never the registry
            reason = f"internal error: {type(exc).__name__}: {exc}"
            self._log(f"desk: {reason}")
        finally:
            self._close(conn)
            try:
                self._hold_handovers()
                self._apply(self.queue.disconnected(conn, self._clock(), reason[:200]))
            except Exception as exc:  # pragma: no cover - defensive, as above
                self._log(f"desk: internal error after a disconnection: {exc!r}")

    def _hold_handovers(self) -> None:
        """Hold the queue's hand-overs for HOLD_TURNS turns of the event loop, so that the
        other connections already ended, or with a last frame (a `.quit`) to read, are
        dealt with before anyone is handed over (see `DeskQueue.hold`). Called as a
        connection ends, and before a message in HANDS_OVER is carried out, the console's
        included. Outside a running event loop (nothing could release it) it holds
        nothing."""
        if self._holding or self._closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._holding = True
        self.queue.hold()

        def turn(left: int) -> None:
            if left > 0:
                loop.call_soon(turn, left - 1)
                return
            self._holding = False
            if self._closed:
                return
            try:
                self._apply(self.queue.release(self._clock()))
            except Exception as exc:  # pragma: no cover - defensive, as for the timer
                self._log(f"desk: internal error after connections ended: {exc!r}")

        loop.call_soon(turn, HOLD_TURNS - 1)

    def _refuse_frame(self, conn: ConnId, reason: str) -> None:
        self._log(f"desk: closed connection {conn}: {reason}"[:300])
        self._write(conn, DeskNotice(self._new_id(), f"Closing the connection: {reason}"[:300]))
        self._close(conn)

    # -- the console ----------------------------------------------------------------------

    def set_console_output(self, print_fn: Callable[[str], None]) -> None:
        """Make the registry's console an operator that prints through `print_fn`, serving
        every topic, or what `.serve` chose before a restart (kept in desk-console.json).
        Call once, when the registry runs on a terminal."""
        self._console = print_fn
        topics, problem = self._console_topics.load()
        if problem:
            self._log(problem)
        self._console_kept = topics
        self._console_on_duty()
        if topics != ALL_TOPICS:
            self._console_print(
                "[Serving what .serve chose before the registry restarted; .serve all takes "
                "every topic.]"
            )

    def console_line(self, line: str, begun: float | None = None) -> None:
        """A line the registry's admin typed, begun at `begun` (the desk's clock; None: now):
        `.room`, `.end`, `.serve 1,3`, `.help`, or text for the person the console serves.
        Never raises."""
        if self._console is None:
            return
        begun = self._clock() if begun is None else begun
        try:
            if self._typed_for_the_session_before(begun) and not self._is_desk_command(line):
                if line.strip():
                    self._console_print(f"[Not sent (typed for the session before): {clean(line)}]")
                return
            if line.strip().lower() == SEND_HELD:
                self._send_held()
                return
            if not self.queue.knows(CONSOLE):
                self._console_on_duty()
                if not self.queue.knows(CONSOLE):
                    return
            serves = self._console_serves()
            topics = ALL_TOPICS if serves is None else serves
            parsed = parse_operator_line(
                line,
                self._new_id,
                topics,
                self.queue.session_of(CONSOLE),
                help_lines=CONSOLE_HELP,
            )
            for text in parsed.lines:
                self._console_print(text)
            if isinstance(parsed.message, DeskLine | DeskEnd) and self._console_holds(begun):
                self._hold_console_line(parsed.message)
                return
            if parsed.quit:
                self._console_print(
                    "[The console stays on duty; .serve none stops it taking people.]"
                )
            if parsed.message is not None:
                if isinstance(parsed.message, HANDS_OVER):
                    self._hold_handovers()  # as for any operator's
                self._apply(self.queue.receive(CONSOLE, parsed.message, self._clock()))
                self._keep_console_topics()
        except Exception as exc:  # pragma: no cover - defensive
            self._log(f"desk: internal error on a console line: {exc!r}")

    def wants_console_line(self, line: str, begun: float | None = None) -> bool:
        """Whether a console line begun at `begun` (None: now) belongs to the desk: one of
        its commands, any line while the console is serving someone, or one begun during a
        session that has ended since (it was meant for that person)."""
        begun = self._clock() if begun is None else begun
        return (
            self._is_desk_command(line)
            or self.console_in_session
            or self._typed_for_the_session_before(begun)
        )

    def console_ended(self) -> None:
        """The console's input ended (Ctrl-D): nobody can answer there any more, so it goes
        off duty (the person it served goes back to the front of the waiting room)."""
        if self._console is None or not self.queue.knows(CONSOLE):
            return
        self._hold_handovers()  # its person goes back to the front: see console_line
        self._apply(self.queue.receive(CONSOLE, DeskLeave(self._new_id()), self._clock()))
        self._console = None

    @staticmethod
    def _is_desk_command(line: str) -> bool:
        return is_operator_command(line) or line.strip().lower() == SEND_HELD

    def _typed_for_the_session_before(self, begun: float) -> bool:
        """Whether a line begun at `begun` was begun during the console's last session, and
        comes now that it has ended with nobody next: it was meant for that person, and is
        neither sent to anyone nor run as a registry command."""
        return (
            self._console is not None
            and not self._console_session
            and self._console_began <= begun < self._console_switched
        )

    def _console_holds(self, begun: float) -> bool:
        """Whether the console's line or `.end`, begun at `begun`, is held back: exactly
        when it was begun before the console was shown that a new person was handed over
        (it may have been meant for the person before, or for the registry). What is
        begun after that notice is for the person it named."""
        return bool(self._console_session) and begun < self._console_switched

    def _hold_console_line(self, message: DeskLine | DeskEnd) -> None:
        who = self._console_person()
        if isinstance(message, DeskEnd):
            self._console_print(
                f"[.end not carried out: you began it before {who} was handed over to you. "
                f".end again ends the session with {who}.]"
            )
            return
        self._console_held = message.text
        self._console_print(
            f"[Not sent: you began this line before {who} was handed over to you. "
            f"{SEND_HELD} sends it to {who}. The line was: {clean(message.text)}]"
        )

    def _send_held(self) -> None:
        """`.send`: the line held back as this session began goes to its person."""
        text, self._console_held = self._console_held, ""
        if not text or not self._console_session:
            self._console_print(
                f"[No line is held back; {SEND_HELD} sends one held as a session began.]"
            )
            return
        message = DeskLine(self._new_id(), "", text, self._console_session)
        who = self._console_person()
        actions = self.queue.receive(CONSOLE, message, self._clock())
        self._apply(actions)
        if any(isinstance(action, SessionLine) for action in actions):
            # a line typed on the console is on the screen already; this one was not
            self._console_print(f"[Sent to {who}: {clean(text)}]")

    def _console_person(self) -> str:
        """The name of the person the console serves ("" for none), as shown."""
        for session in self.queue.sessions:
            if session.operator.conn == CONSOLE:
                return clean(session.person.name)
        return ""

    @property
    def console_on_duty(self) -> bool:
        """Whether the registry's console serves at the help desk (`set_console_output`
        was called, and its input has not ended since)."""
        return self._console is not None

    @property
    def console_in_session(self) -> bool:
        """Whether the console operator is serving someone right now."""
        return self.queue.serving(CONSOLE)

    @property
    def console_serves(self) -> str:
        """The name of the person the console operator serves right now (cleaned for the
        screen), or "" (nobody)."""
        operator = self.queue.on(CONSOLE)
        if not isinstance(operator, Operator) or operator.session is None:
            return ""
        return clean(operator.session.person.name)

    def _console_on_duty(self) -> None:
        message = DeskOperator(
            self._new_id(), self._console_name, self._console_kept, self._key, WIRE_VERSION
        )
        self._apply(self.queue.receive(CONSOLE, message, self._clock()))

    def _keep_console_topics(self) -> None:
        """After a console line: keep what the console serves, when `.serve` changed it."""
        topics = self._console_serves()
        if topics is not None and topics != self._console_kept:
            self._console_kept = topics
            problem = self._console_topics.save(topics)
            if problem:
                self._log(problem)

    def _console_serves(self) -> tuple[int, ...] | None:
        """The topics the console serves, sorted; None when it is not on duty."""
        return next(
            (tuple(sorted(o.topics)) for o in self.queue.operators if o.conn == CONSOLE), None
        )

    def _console_print(self, text: str) -> None:
        if self._console is not None:
            self._console(f"desk: {text}")

    # -- carrying out actions -------------------------------------------------------------

    def _keep_operators(self, action: KeepOperators) -> None:
        """Keep the authorised operators' keys (said in the log when it fails: each would
        then need the operator key again after a restart)."""
        data = json.dumps(dict(action.keys), indent=2, sort_keys=True) + "\n"
        try:
            replace_durably(self._operators_path, data.encode("utf-8"))
        except OSError as exc:
            self._log(f"desk: could not keep {self._operators_path}: {os_reason(exc)}")

    def _apply(self, actions: list[Action]) -> None:
        # The places go on disk before anyone is told theirs: a crash just after a person
        # saw "number 2 in the queue" must not lose that place.
        kept = [action for action in actions if isinstance(action, KeepPlaces)]
        if kept:
            self._keep(kept[-1])
        for action in actions:
            if isinstance(action, Send):
                if action.conn == CONSOLE:
                    for text in render_operator(action.message):
                        self._console_print(text)
                else:
                    self._write(action.conn, action.message)
            elif isinstance(action, Close):
                if action.conn != CONSOLE:
                    self._close(action.conn)
            elif isinstance(action, Log):
                self._log(action.line)
            elif isinstance(action, KeepPlaces):
                pass  # kept above
            elif isinstance(action, KeepOperators):
                self._keep_operators(action)
            else:
                self._record(action)
        if any(isinstance(action, SessionEnded) for action in actions):
            self._keep_history()
        if self._console is not None:
            session = self.queue.session_of(CONSOLE)
            if session != self._console_session:
                if session:
                    self._console_began = self._clock()
                self._console_session = session
                self._console_switched = self._clock()
                self._console_held = ""
        if self._wake is not None:
            self._wake.set()  # the next wake-up may have moved

    def _write(self, conn: ConnId, message: DeskMessage) -> None:
        writer = self._writers.get(conn)
        stream = self._streams.get(conn)
        if writer is None or stream is None or writer.is_closing():
            return
        try:
            stream.send(message)
            writer.write(stream.output())
        except (ValueError, ConnectionError, OSError) as exc:
            self._log(f"desk: could not send {type(message).__name__} on {conn}: {exc}")
            self._close(conn)
            return
        if writer.transport.get_write_buffer_size() > MAX_UNSENT:
            self._log(f"desk: closed connection {conn}: it does not read what it is sent")
            self._close(conn)

    def _close(self, conn: ConnId) -> None:
        stream = self._streams.pop(conn, None)
        if stream is not None:
            stream.close()  # what it held counts against the process's budget no more
        writer = self._writers.pop(conn, None)
        if writer is not None:
            # close() sends what is buffered first; the reading side then sees the end.
            with contextlib.suppress(Exception):
                writer.close()

    def _keep(self, action: KeepPlaces) -> None:
        try:
            self._places.save(action.places)
        except OSError as exc:
            self._log(
                f"desk: could not keep the waiting room on disk ({exc.strerror or exc}); "
                "should the registry stop, its places would be lost"
            )

    def _keep_history(self) -> None:
        """After a session ended: keep the session lengths learnt, if they changed (a
        session cut short by its operator teaches nothing)."""
        history = self.queue.estimator.history()
        if history != self._history_kept:
            self._history_kept = history
            problem = self._history.save(history)
            if problem:
                self._log(problem)

    def _record(self, record: SessionStarted | SessionLine | SessionEnded) -> None:
        try:
            self._records.write(record)
        except OSError as exc:
            self._log(f"desk: could not write the transcript of session {record.session}: {exc}")

    async def _run_timer(self) -> None:
        assert self._wake is not None
        # The flag as well as the cancellation: a wake-up racing with close() must not
        # leave the loop running (asyncio.wait_for in 3.11 can swallow a cancellation).
        while not self._closed:
            self._wake.clear()
            wake = self.queue.next_wake()
            timeout = None if wake is None else max(0.0, wake - self._clock())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            if self._closed:
                return
            try:
                self._apply(self.queue.timer(self._clock()))
            except Exception as exc:  # pragma: no cover - defensive
                self._log(f"desk: internal error in the timer: {exc!r}")


#: Where the operators' keys authorised by the operator key are kept, in the data folder.
OPERATORS_FILE = "desk-operators.json"


def _read_operators(path: Path) -> tuple[dict[str, str], str]:
    """The authorised operators' keys kept at `path` (key text -> name), and what was wrong
    with the file ("" when nothing): a damaged one is read as empty (each operator then
    shows the operator key once more)."""
    try:
        data = parse_json(read_text(path))
    except FileNotFoundError:
        return {}, ""
    except (OSError, ValueError, RecursionError) as exc:
        return {}, f"{path}: {exc}"
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and key_from_text(k) and isinstance(v, str) for k, v in data.items()
    ):
        return {}, f"{path}: not a table of operators' keys"
    return dict(data), ""


def _is_desk(message: Message) -> TypeGuard[DeskMessage]:
    return type(message).__name__ in DESK_TYPES


# -- standalone desk (tests and trials) ----------------------------------------------------


async def accept_secure(
    desk: DeskService,
    static: X25519PrivateKey,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    """Serve a connection accepted by a desk of its own (no registry's endpoint before
    it): the secure handshake with `static`, then `desk.handle_connection` from the first
    message on. A request for our key is answered in clear; what does not open closes it."""
    decoder = SecureStream(static)
    try:
        messages: list[Message] = []
        while not messages:
            data = await reader.read(READ_CHUNK)
            if not data:
                writer.close()
                return
            messages = decoder.feed(data)
            writer.write(decoder.output())
    except KeyGiven:
        writer.write(decoder.output())  # our key, asked for in clear
        writer.close()
        return
    except (DecodeError, ConnectionError, OSError) as exc:
        desk._log(f"desk: closed a connection before its first frame: {exc}")
        writer.close()
        return
    await desk.handle_connection(messages[0], decoder, reader, writer, more=messages[1:])


async def _serve(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "desk.log"

    def log(line: str) -> None:
        stamped = f"{time.strftime('%H:%M:%S')} {line}"
        print(stamped, flush=True)
        with contextlib.suppress(OSError), log_path.open("a", encoding="utf-8") as handle:
            handle.write(stamped + "\n")

    try:
        desk = DeskService(
            data_dir,
            log,
            args.crisis_notice,
            args.grace,
            max_waiting=args.max_waiting,
            heartbeat=args.heartbeat,
            typical_session=args.typical_session,
        )
    except DeskKeyError as exc:  # a desk alone has nothing else to run: say why and stop
        print(exc, file=sys.stderr, flush=True)
        return 1
    desk.queue.reclaim_window = args.reclaim_window
    await desk.start()

    static, _ = load_or_make_key(data_dir)

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accept_secure(desk, static, reader, writer)

    server = await asyncio.start_server(accept, args.bind, args.port)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"desk listening on {host}:{port}; operator key in {desk.key_path}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if args.console:
        desk.set_console_output(lambda text: print(text, flush=True))

        def read_console() -> None:
            for line in sys.stdin:
                loop.call_soon_threadsafe(desk.console_line, line.rstrip("\n"))
            loop.call_soon_threadsafe(desk.console_ended)

        threading.Thread(target=read_console, name="console", daemon=True).start()
    await stop.wait()
    server.close()
    await desk.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m registry.desk.service`: a desk on its own, without the rest of the
    registry, for tests and trials."""
    parser = argparse.ArgumentParser(prog="python -m registry.desk.service")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--grace", type=float, default=GRACE)
    parser.add_argument(
        "--reclaim-window",
        type=float,
        default=RECLAIM_WINDOW,
        help="seconds after a restart to take a kept place back (tests shorten it)",
    )
    parser.add_argument("--max-waiting", type=int, default=MAX_WAITING)
    parser.add_argument(
        "--heartbeat",
        type=float,
        default=HEARTBEAT,
        help="seconds of silence before a connection is asked for a sign of life (lost "
        "after twice that); tests shorten it",
    )
    parser.add_argument(
        "--typical-session",
        type=float,
        default=TYPICAL_SESSION,
        help="seconds a session is taken to last until enough are measured",
    )
    parser.add_argument("--crisis-notice", default=None)
    parser.add_argument("--console", action="store_true", help="the console is an operator")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return 130
    except (OSError, ValueError) as exc:
        print(f"desk: cannot start: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
