"""The desk clients' asyncio adapter; events of an older connection are dropped."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable, Coroutine
from functools import partial
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from msgspec import Struct

from disk.files import os_reason
from net.listener import enable_keepalive
from net.served_stream import READ_CHUNK
from peer.adapter.desk.held_place import HeldPlace
from peer.adapter.desk.terminal import EndOfInput, Terminal, Typed
from peer.adapter.terminal import colour_wanted
from peer.core.desk.actions import (
    Action,
    Connection,
    DeskClient,
    Emit,
    ExitDesk,
    FindPlace,
    KeepPlace,
    SendToDesk,
    Show,
)
from secure.stream import SecureStream
from wire.desk.messages import DeskMessage
from wire.errors import DecodeError, OtherVersion
from wire.messages import Message

#: Seconds to wait for the desk to accept a TCP connection.
CONNECT_TIMEOUT = 5.0


# The events of connection number `gen`.
class Arrived(Struct, frozen=True):
    gen: int
    message: Message


class Lost(Struct, frozen=True):
    """The connection ended, or (not `made`) was never made, for `why`."""

    gen: int
    why: str
    made: bool = True


class Connected(Struct, frozen=True):
    gen: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    stream: SecureStream


class Probed(Struct, frozen=True):
    """The connection of a `Probe` was made (`why` "") or not."""

    why: str


Event = Typed | EndOfInput | Arrived | Lost | Connected | Probed


class RunnerSettings(Struct, frozen=True, kw_only=True):
    """`places`, the held-place folder; `screen`, the terminal (made when None); `key`, our key
    pair (None: this run's); `registry_key` None: none answered."""

    client: str
    tty: bool = False
    places: Path | None = None
    screen: Terminal | None = None
    key: X25519PrivateKey | None = None
    registry_key: bytes | None = None


class DeskRunner:
    def __init__(self, core: DeskClient, settings: RunnerSettings) -> None:
        self.core = core
        self._client = settings.client
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.term = settings.screen or Terminal(
            self.events.put_nowait, tty=settings.tty, colour=sys.stdout.isatty() and colour_wanted()
        )
        self._places = settings.places
        self._place: HeldPlace | None = None
        self._gen = 0  # the number of the current connection
        self._writer: asyncio.StreamWriter | None = None
        self._stream: SecureStream | None = None  # the connection's secure session
        self._static = settings.key
        self._registry = settings.registry_key
        self._tasks: set[asyncio.Task[None]] = set()
        self._code: int | None = None

    async def run(self) -> int:
        self.term.start()
        try:
            self._now(self.core.start)
            while self._code is None:
                wake = self.core.next_wake()
                timeout = None if wake is None else max(0.0, wake - time.monotonic())
                try:
                    event = await asyncio.wait_for(self.events.get(), timeout)
                except TimeoutError:
                    self._now(self.core.tick)
                else:
                    self.carry_out(self.handle(event, time.monotonic()))
            return self._code
        except Exception as exc:  # no traceback ever reaches the user
            self.term.show(f"[The {self._client} stopped on an unexpected error: {exc!r}]", "error")
            return 1
        finally:
            self._close()
            for task in list(self._tasks):
                task.cancel()
            await self.term.close()

    def handle(self, event: Event, now: float) -> list[Action]:
        actions: list[Action] = []
        core, emit = self.core, actions.append
        if isinstance(event, Typed):
            core.typed(event.text, now, emit, event.begun)
        elif isinstance(event, EndOfInput):
            core.end_of_input(now, emit)
        elif isinstance(event, Probed):
            core.probed(event.why, now, emit)
        elif event.gen != self._gen:
            if isinstance(event, Connected):
                event.writer.close()  # asked for before a newer one: not wanted
        elif isinstance(event, Arrived):
            if isinstance(event.message, DeskMessage):
                core.received(event.message, now, emit)
        elif isinstance(event, Connected):
            self._writer, self._stream = event.writer, event.stream
            self._spawn(self._read(event.reader, event.writer, event.stream, event.gen))
            core.connected(now, emit)
        elif event.made:
            self._close()
            core.lost(event.why, now, emit)
        else:
            core.not_connected(event.why, now, emit)
        return actions

    def _now(self, entry: Callable[[float, Emit], None]) -> None:
        actions: list[Action] = []
        entry(time.monotonic(), actions.append)
        self.carry_out(actions)

    def carry_out(self, actions: list[Action]) -> None:
        for action in actions:
            if self._code is not None:
                return  # the core exited in an answer to an earlier action
            match action:
                case Show(text, style):
                    self.term.show(text, style)
                case SendToDesk(message):
                    self._send(message)
                case Connection.DROP | Connection.OPEN:
                    self._close()
                    self._gen += 1  # whatever the older one still brings is not handed over
                    if action is Connection.OPEN:
                        self._spawn(self._connect(self._gen))
                case Connection.PROBE:
                    self._spawn(self._probe())
                case FindPlace(phone):
                    if self._places is not None:
                        self._place = HeldPlace(
                            self._places, self.core.link.ip, self.core.link.port, phone
                        )
                    found = self._place.load() if self._place is not None else None
                    self._now(partial(self.core.place_found, found))
                case KeepPlace() if self._place is not None:
                    self._place.keep(action)
                case ExitDesk(code):
                    self._code = code

    async def _connect(self, gen: int) -> None:
        opened, key = await self._open(), self._registry
        if isinstance(opened, str):
            self.events.put_nowait(Lost(gen, opened, made=False))
            return
        reader, writer = opened
        why = "no answer"  # (no key answered: said as what stops a connection)
        if key is not None:
            enable_keepalive(writer)
            self._static = self._static or X25519PrivateKey.generate()
            try:
                stream = SecureStream(self._static, remote=key)
            except ValueError:
                why = "the registry's pinned key is unusable"
            else:
                writer.write(stream.output())  # the handshake's first frame
                self.events.put_nowait(Connected(gen, reader, writer, stream))
                return
        writer.close()
        self.events.put_nowait(Lost(gen, why, made=False))

    async def _probe(self) -> None:
        # always answered: a person whose input has ended waits for the answer; a connection
        # that opens is closed at once (it takes no place)
        try:
            opened = await self._open()
        except Exception as exc:  # an address the system cannot even try, say
            opened = str(exc) or type(exc).__name__
        if not isinstance(opened, str):
            opened[1].close()
        self.events.put_nowait(Probed(opened if isinstance(opened, str) else ""))

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | str:
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(self.core.link.ip, self.core.link.port), CONNECT_TIMEOUT
            )
        except (OSError, TimeoutError) as exc:
            return "no answer" if isinstance(exc, TimeoutError) else os_reason(exc)

    async def _read(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        decoder: SecureStream,
        gen: int,
    ) -> None:
        reason = "the help desk closed the connection"
        try:
            while True:
                data = await reader.read(READ_CHUNK)
                if not data:
                    break
                messages = decoder.feed(data)
                writer.write(decoder.output())  # what waited for the handshake
                for message in messages:
                    self.events.put_nowait(Arrived(gen, message))
        except OtherVersion:
            reason = "the help desk runs another version of ChatApp"
        except DecodeError as exc:
            reason = f"the help desk sent something unreadable ({exc})"
        except (ConnectionError, OSError) as exc:
            reason = os_reason(exc)
        self.events.put_nowait(Lost(gen, reason))

    def _send(self, message: DeskMessage) -> None:
        writer, stream = self._writer, self._stream
        if writer is None or stream is None or writer.is_closing():
            return  # the connection is gone: its Lost event is on its way
        with contextlib.suppress(ConnectionError, OSError, ValueError):
            stream.send(message)
            writer.write(stream.output())

    def _close(self) -> None:
        writer, self._writer, self._stream = self._writer, None, None
        if writer is not None:
            with contextlib.suppress(Exception):  # already broken: nothing to tell
                writer.close()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
