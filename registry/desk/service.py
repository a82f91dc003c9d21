"""The help desk's asyncio adapter: TCP connections, the clock, the timer and the files
around the sans-IO `DeskQueue`.

The registry hands every TCP connection whose first frame is a desk message to
`DeskService.handle_connection`, which owns it from then on. The registry's console is an
operator too, once the registry calls `set_console_output` (`registry.desk.console`); what
the desk keeps on disk is `registry.desk.files`'.

Run as `python -m registry.desk.service --port 0 --data-dir DIR` for a standalone desk
(tests and trials: `registry.desk.standalone`): it prints `desk listening on HOST:PORT`
and serves until stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypedDict, TypeGuard, Unpack

from net.endpoint import FRAME_DEADLINE
from net.listener import enable_keepalive, has_hung_up
from net.operator_key import key_path
from net.options import check_options
from net.secure_stream import SecureStream
from registry.desk.actions import Action, Close, ConnId, Log, Send, SessionEnded
from registry.desk.console import CONSOLE, ConsoleDesk, DeskConsole

# the name the console serves under, as the registry names it to its admin
from registry.desk.console import CONSOLE_NAME as CONSOLE_NAME
from registry.desk.estimate import Estimator
from registry.desk.files import DeskFiles
from registry.desk.frames import FrameReader, FrameRefused
from registry.desk.key import load_or_create_key
from registry.desk.limits import GRACE, MAX_WAITING, RECLAIM_WINDOW, TYPICAL_SESSION
from registry.desk.queue import HANDS_OVER, DeskQueue
from registry.desk.shelf import AfterKept, Shelf
from wire.desk.messages import (
    DESK_TYPES,
    HEARTBEAT,
    DeskJoin,
    DeskMessage,
    DeskNotice,
    DeskOperator,
    DeskRegistries,
)
from wire.desk.render import room_lines
from wire.desk.text import DEFAULT_CRISIS_NOTICE, clean_crisis_notice
from wire.keys import fingerprint, key_from_text, key_text
from wire.messages import Message
from wire.reliable import IdMaker
from wire.shown_text import clean

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
#: Seconds a desk that closes waits at most for what it keeps to be acknowledged, before
#: its last words are sent.
CLOSE_FLUSH = 2.0


class DeskOptions(TypedDict, total=False):
    """What a `DeskService` may be given beyond its data directory, log and crisis notice,
    each with its default: `grace` (GRACE), the seconds a waiting person's place is kept
    after a lost connection; `max_waiting` (MAX_WAITING); `console_name` (CONSOLE_NAME),
    the name the registry's console serves under; `clock` (time.monotonic); `heartbeat`
    (HEARTBEAT), the seconds of silence after which a connection is asked for a sign of
    life (taken as lost after twice that); `typical_session` (TYPICAL_SESSION), the seconds
    a session is taken to last in the wait estimates until enough have been measured;
    `rejected` (the log's), where refusals go, as (kind, line); `shelf` (the data
    directory's files), where places, history and operators' keys are kept;
    `reclaim_window` (RECLAIM_WINDOW), how long after a start the places kept on disk are
    held for their people."""

    grace: float
    reclaim_window: float
    max_waiting: int
    console_name: str
    clock: Callable[[], float]
    heartbeat: float
    typical_session: float
    rejected: Callable[[str, str], None]
    shelf: Shelf | None


class DeskService:
    """The help desk inside the registry: one DeskQueue, its connections and timers."""

    def __init__(
        self,
        data_dir: Path,
        log: Callable[[str], None],
        crisis_notice: str | None = None,
        **options: Unpack[DeskOptions],
    ) -> None:
        """`data_dir` is the registry's data directory (transcripts go in a folder of it,
        and the operator key is kept there: see registry.desk.key); `log` receives log
        lines, never holding a full phone number; `crisis_notice` replaces the default
        text shown for topic 1; `options`: see DeskOptions. Nothing runs until `start`.
        Raises DeskKeyError (registry.desk.key) when the operator key file holds no usable
        key, OSError when a key can be neither read nor made, ValueError for a `heartbeat`
        or `typical_session` not above 0, or TypeError for an option it does not know."""
        check_options("DeskService", options, DeskOptions)
        notice = clean_crisis_notice(crisis_notice or "") or DEFAULT_CRISIS_NOTICE
        self._new_id = IdMaker(secrets.token_hex(4))
        self.key_path = key_path(data_dir)
        self._key = load_or_create_key(data_dir)
        #: Where the desk's log lines go.
        self.log = log
        #: Where its refusals go, as (kind, line): the registry's one rate-limited log of
        #: them (net/drop_log.py); by default, `log`.
        self.rejected: Callable[[str, str], None] = options.get(
            "rejected", lambda kind, line: log(line)
        )
        self._clock = options.get("clock", time.monotonic)
        self._files = DeskFiles(data_dir, self._clock, log, self._key, options.get("shelf"))
        self._after_kept = AfterKept(self._files.shelf, self._carry_out)
        self.queue = DeskQueue(
            authorised=self._files.authorised,
            make_id=self._new_id,
            make_token=lambda: secrets.token_urlsafe(18),
            operator_key=self._key,
            crisis_notice=notice,
            grace=options.get("grace", GRACE),
            reclaim_window=options.get("reclaim_window", RECLAIM_WINDOW),
            max_waiting=options.get("max_waiting", MAX_WAITING),
            heartbeat=options.get("heartbeat", HEARTBEAT),
            estimator=Estimator(typical=options.get("typical_session", TYPICAL_SESSION)),
        )
        desk = ConsoleDesk(
            self.queue, self._key, self._clock, self._new_id, log, self._hold_handovers, self._apply
        )
        self._console = DeskConsole(desk, data_dir, options.get("console_name", CONSOLE_NAME))
        self._writers: dict[ConnId, asyncio.StreamWriter] = {}
        # each connection's secure session (net/secure_stream.py): what is written goes in it
        self._streams: dict[ConnId, SecureStream] = {}
        self._conn_ids = itertools.count(1)
        self._wake: asyncio.Event | None = None
        self._timer: asyncio.Task[None] | None = None
        self._closed = False
        self._holding = False  # the queue holds hand-overs (see _hold_handovers)
        #: The registries of the service this desk is the one of ("ip:port" each), told
        #: to each client before anything else (DeskRegistries), so that it can move when
        #: this registry stops; none for a registry on its own, which tells nothing.
        self.registries: Callable[[], Sequence[str]] = tuple

    # -- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Hold the places kept by a run that stopped without closing the desk, and start
        the timer that expires held places and sends held-back position pushes. Await once,
        inside the registry's event loop, before any connection."""
        if self._timer is None:
            places = self._files.load(self.queue.estimator)
            self._apply(self.queue.restore(places, self._clock()))
            self._wake = asyncio.Event()
            self._timer = asyncio.create_task(self._run_timer(), name="desk-timer")

    async def close(self) -> None:
        """Tell everyone the desk is closing, end sessions (transcripts included), close
        every connection and stop the timer. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        if not self._files.shelf.shared:
            self._apply(self.queue.shutdown(self._clock()))
        # (else the desk goes on at the registry of the service that takes over: its
        # clients reconnect there, and take their places back, as after a crash)
        await self._after_kept.drained(CLOSE_FLUSH)
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
        type); `decoder` is the connection's secure session already used on it, possibly
        holding the start of further frames; `more` are messages the caller decoded after
        `first` in the same read, if any. Never raises, except CancelledError when the
        caller is cancelled; bad or oversized frames close this connection only."""
        if self._timer is None and not self._closed:
            await self.start()  # in case the registry did not: held places must expire
        conn = self._opened(decoder, writer)
        reason = "connection closed"
        try:
            if self._closed:
                reason = "desk closing"
            elif isinstance(first, DeskJoin | DeskOperator) and has_hung_up(reader, writer):
                # An attempt its client gave up on before we read it (a registry stopped
                # with SIGSTOP still accepts connections, and a client tries again every
                # few seconds): acted on, it would take a place back or go on duty only to
                # be lost at once, and fill the log with both; a person could even be handed
                # to an operator who is not there. A DeskGiveUp is still carried out: its
                # client said it and left, as it should.
                reason = "its client had left before its first message was read"
            else:
                registries = tuple(self.registries())
                if registries:
                    self._write(conn, DeskRegistries(self._new_id(), "", registries))
                pending: list[Message] = [first, *more, *decoder.feed(b"")]
                # FRAME_DEADLINE as it is now: tests shorten it
                frames = FrameReader(decoder, reader, FRAME_DEADLINE)
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

    def _opened(self, decoder: SecureStream, writer: asyncio.StreamWriter) -> ConnId:
        """A new connection, on `writer` through its secure session `decoder`: known to the
        queue by the id returned, with its address and client key."""
        conn: ConnId = f"t{next(self._conn_ids)}"
        self._writers[conn] = writer
        self._streams[conn] = decoder
        peer = writer.get_extra_info("peername")
        # every connection is opened, with or without an address: it is watched for silence
        key = key_text(decoder.remote_key) if decoder.remote_key else ""
        self.queue.opened(conn, str(peer[0]) if isinstance(peer, tuple) and peer else "", key)
        enable_keepalive(writer)
        return conn

    async def _converse(self, conn: ConnId, pending: list[Message], frames: FrameReader) -> str:
        """Carry out the messages of `conn`, `pending` first and then as `frames` reads
        them, until it ends or is closed; why it ended."""
        while conn in self._writers:
            for message in pending:
                if conn not in self._writers:
                    break
                if not _is_desk(message):
                    reason = f"{type(message).__name__} on a help-desk connection"
                    self._refuse_frame(conn, reason)
                    return reason
                if isinstance(message, HANDS_OVER):
                    self._hold_handovers()
                self._apply(self.queue.receive(conn, message, self._clock()))
            if conn not in self._writers:
                break
            try:
                read = await frames.read()
            except FrameRefused as refused:
                self._refuse_frame(conn, str(refused))
                return str(refused)
            if read is None:
                break
            pending = read
        return "connection closed"

    def _ended(self, conn: ConnId, reason: str) -> None:
        """Connection `conn` is over, for `reason`: closed, and gone from the queue."""
        self._close(conn)
        try:
            self._hold_handovers()
            self._apply(self.queue.disconnected(conn, self._clock(), reason[:200]))
        except Exception as exc:  # pragma: no cover - defensive, as above
            self.log(f"desk: internal error after a disconnection: {exc!r}")

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
                self.log(f"desk: internal error after connections ended: {exc!r}")

        loop.call_soon(turn, HOLD_TURNS - 1)

    def _refuse_frame(self, conn: ConnId, reason: str) -> None:
        self.log(f"desk: closed connection {conn}: {reason}"[:300])
        self._write(conn, DeskNotice(self._new_id(), f"Closing the connection: {reason}"[:300]))
        self._close(conn)

    def tell_registries(self) -> None:
        """The service's registries changed (see `registries`): every client is told."""
        registries = tuple(self.registries())
        for conn in list(self._writers):
            self._write(conn, DeskRegistries(self._new_id(), "", registries))

    # -- the console (registry.desk.console) ------------------------------------------------

    def set_console_output(self, print_fn: Callable[[str], None]) -> None:
        """Make the registry's console an operator that prints through `print_fn` (see
        `DeskConsole.set_output`). Call once, when the registry runs on a terminal."""
        self._console.set_output(print_fn)

    def console_line(self, line: str, begun: float | None = None) -> None:
        """A line the registry's admin typed, begun at `begun` (the desk's clock; None: now):
        see `DeskConsole.typed`. Never raises."""
        self._console.typed(line, begun)

    def wants_console_line(self, line: str, begun: float | None = None) -> bool:
        """Whether a console line begun at `begun` (None: now) belongs to the desk: see
        `DeskConsole.wants`."""
        return self._console.wants(line, begun)

    def console_ended(self) -> None:
        """The console's input ended (Ctrl-D): it goes off duty (see `DeskConsole.ended`)."""
        self._console.ended()

    @property
    def console_on_duty(self) -> bool:
        """Whether the registry's console serves at the help desk (`set_console_output`
        was called, and its input has not ended since)."""
        return self._console.on_duty

    @property
    def console_in_session(self) -> bool:
        """Whether the console operator is serving someone right now."""
        return self._console.in_session

    @property
    def console_serves(self) -> str:
        """The name of the person the console operator serves right now (cleaned for the
        screen), or "" (nobody)."""
        return self._console.serves

    # -- the registry console's operator commands ------------------------------------------

    def operators(self) -> list[str]:
        """The console's `operators`: a line per operator's key authorised, with the name
        it is bound to and its fingerprint, or one line saying there are none."""
        kept = sorted(self.queue.authorised.items(), key=lambda item: item[1].casefold())
        lines = [f"  {clean(name):<20} key {_fingerprint(key)}" for key, name in kept]
        return lines or ["  no operator keys authorised (an operator shows the operator key)"]

    def waiting_room(self) -> list[str]:
        """The console's `desk`: the waiting room in order, as an operator's `.room`."""
        return [f"  {line}" for line in room_lines(self.queue.room(self._clock()))]

    def revoke(self, name: str) -> str:
        """The console's `revoke NAME`: the keys authorised for operator `name` are
        revoked (one on duty with one goes off duty); the line that says so."""
        actions = self.queue.revoke(name)
        if not actions:
            return f"  no operator key authorised for {clean(name)}"
        self._apply(actions)
        return f"  revoked: {clean(name)} shows the operator key again to go on duty"

    # -- carrying out actions -------------------------------------------------------------

    def _apply(self, actions: list[Action]) -> None:
        # The places are kept before anyone is told theirs: a crash just after a person
        # saw "number 2 in the queue" must not lose that place. (On a shelf that
        # acknowledges later, what is sent waits for it: see AfterKept.)
        self._files.keep_places(actions)
        for action in actions:
            if not isinstance(action, Send | Close | Log):
                self._files.keep(action)
        if any(isinstance(action, SessionEnded) for action in actions):
            self._files.keep_history(self.queue.estimator.history())
        self._after_kept(actions)
        if self._wake is not None:
            self._wake.set()  # the next wake-up may have moved

    def _carry_out(self, actions: list[Action]) -> None:
        """Send, close and log what `actions` say (what they keep is kept by now)."""
        for action in actions:
            if isinstance(action, Send):
                if action.conn == CONSOLE:
                    self._console.show(action.message)
                else:
                    self._write(action.conn, action.message)
            elif isinstance(action, Close):
                if action.conn != CONSOLE:
                    self._close(action.conn)
            elif isinstance(action, Log):
                if action.kind:
                    self.rejected(action.kind, action.line)
                else:
                    self.log(action.line)
        self._console.follow()

    def _write(self, conn: ConnId, message: DeskMessage) -> None:
        writer = self._writers.get(conn)
        stream = self._streams.get(conn)
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
        stream = self._streams.pop(conn, None)
        if stream is not None:
            stream.close()  # what it held counts against the process's budget no more
        writer = self._writers.pop(conn, None)
        if writer is not None:
            # close() sends what is buffered first; the reading side then sees the end.
            with contextlib.suppress(Exception):
                writer.close()

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
                self.log(f"desk: internal error in the timer: {exc!r}")


def _fingerprint(key: str) -> str:
    """An operator's key text as its fingerprint (wire.keys), or as it is kept."""
    raw = key_from_text(key)
    return fingerprint(raw) if raw is not None else key


def _is_desk(message: Message) -> TypeGuard[DeskMessage]:
    return type(message).__name__ in DESK_TYPES


if __name__ == "__main__":
    from registry.desk.standalone import main

    sys.exit(main())
