"""The desk clients' asyncio adapter; events of an older connection are dropped. The operator's
on the full screen also looks at the waiting room (`ScreenRunner`); a person's place is kept in
its held-place file."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import sys
import time
from collections.abc import Callable, Coroutine
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from msgspec import Meta, Struct

from disk.files import os_reason, read_bytes
from disk.records import keep_record, read_record
from net.listener import enable_keepalive
from net.served_stream import READ_CHUNK, Dialed, connect, dial, why_not
from peer.adapter.desk.terminal import TYPED, OperatorScreen, Terminal
from peer.adapter.terminal import colour_wanted
from peer.core.desk.duty import OperatorCore
from peer.core.desk.link import (
    Action,
    Connection,
    DeskClient,
    DeskPhase,
    Emit,
    ExitDesk,
    FindPlace,
    KeepPlace,
    SendToDesk,
    Show,
)
from secure.keys import KeyFileError, load_or_make_key
from wire.codec import DecodeError, OtherVersion
from wire.desk.messages import (
    DeskEnded,
    DeskLook,
    DeskMessage,
    DeskNotice,
    DeskOnDuty,
    DeskRoom,
    DeskSession,
)
from wire.desk.phone import phone_key
from wire.desk.text import TOPICS
from wire.messages import Message

#: Seconds between two looks at the waiting room; the waits shown count on between them.
ROOM_LOOK = 3.0
#: What the desk says that may change the waiting room: looked at again at once.
CHANGES = (DeskOnDuty, DeskSession, DeskEnded, DeskNotice)


class ClientEvent(Struct, frozen=True):
    """What happened, for the core: "typed" (`text`, `begun` at its first key), "end" (of
    input: Ctrl-D, a pipe's end, the output gone, or Ctrl-C), "probed" (`text`: why the desk
    cannot be reached, or ""); or, of connection number `gen`: "connected" (`opened`),
    "arrived" (`message`), "lost" (`text`: why), "failed" (never made, `text`: why)."""

    what: Literal["typed", "end", "probed", "connected", "arrived", "lost", "failed"]
    text: str = ""
    begun: float = 0.0
    gen: int | None = None
    message: Message | None = None
    opened: Dialed | None = None


class RunnerSettings(Struct, frozen=True, kw_only=True):
    """`places`, the held-place folder; `screen`, the terminal (made when None); `key`, our key
    pair (None: this run's); `registry_key` None: none answered."""

    client: str
    places: Path | None = None
    screen: Terminal | None = None
    key: X25519PrivateKey | None = None
    registry_key: bytes | None = None


class DeskRunner:
    def __init__(self, core: DeskClient, settings: RunnerSettings) -> None:
        self.core, self.settings = core, settings
        self.events: asyncio.Queue[ClientEvent] = asyncio.Queue()
        self.term = settings.screen or Terminal(
            self._input,
            tty=core.link.settings.prompt,
            colour=sys.stdout.isatty() and colour_wanted(),
        )
        self._place: Path | None = None  # the held-place file
        self._gen = 0  # the number of the current connection
        self._opened: Dialed | None = None  # the connection's streams and secure session
        self._static = settings.key or X25519PrivateKey.generate()
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
            self.term.show(
                f"[The {self.settings.client} stopped on an unexpected error: {exc!r}]", "error"
            )
            return 1
        finally:
            self._close()
            for task in list(self._tasks):
                task.cancel()
            await self.term.close()

    def handle(self, event: ClientEvent, now: float) -> list[Action]:
        actions: list[Action] = []
        core, emit, what = self.core, actions.append, event.what
        if event.gen not in (None, self._gen):
            if event.opened is not None:
                event.opened[1].close()  # asked for before a newer one: not wanted
        elif what == "typed":
            core.typed(event.text, now, emit, event.begun)
        elif what == "end":
            core.end_of_input(now, emit)
        elif what == "probed":
            core.probed(event.text, now, emit)
        elif event.opened is not None:
            self._opened = event.opened
            self._spawn(self._read(event.opened, self._gen))
            core.connected(now, emit)
        elif isinstance(event.message, DeskMessage):
            core.received(event.message, now, emit)
        elif what == "lost":
            self._close()
            core.lost(event.text, now, emit)
        elif what == "failed":
            core.not_connected(event.text, now, emit)
        return actions

    def _input(self, text: str | None, begun: float) -> None:
        self.events.put_nowait(
            ClientEvent("end") if text is None else ClientEvent("typed", text, begun)
        )

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
                    if (places := self.settings.places) is not None:
                        link = self.core.link
                        self._place = place_file(places, link.ip, link.port, phone)
                    found = load_place(self._place) if self._place is not None else None
                    self._now(partial(self.core.place_found, found))
                case KeepPlace() if self._place is not None:
                    keep_place(self._place, action)
                case ExitDesk(code):
                    self._code = code

    async def _connect(self, gen: int) -> None:
        key, addr = self.settings.registry_key, (self.core.link.ip, self.core.link.port)
        try:
            if key is not None:
                opened = await dial(addr, key, self._static)
                enable_keepalive(opened[1])
                self.events.put_nowait(ClientEvent("connected", gen=gen, opened=opened))
                return
            (await connect(addr))[1].close()
            why = "no answer"  # (no key answered: said as what stops a connection)
        except ValueError:
            why = "the registry's pinned key is unusable"
        except (OSError, TimeoutError) as exc:
            why = why_not(exc)
        self.events.put_nowait(ClientEvent("failed", why, gen=gen))

    async def _probe(self) -> None:
        # always answered: a person whose input has ended waits for the answer; a connection
        # that opens is closed at once (it takes no place)
        try:
            (await connect((self.core.link.ip, self.core.link.port)))[1].close()
            why = ""
        except Exception as exc:  # (an address the system cannot even try, say)
            why = why_not(exc)
        self.events.put_nowait(ClientEvent("probed", why))

    async def _read(self, opened: Dialed, gen: int) -> None:
        reader, writer, decoder = opened
        reason = "the help desk closed the connection"
        try:
            while data := await reader.read(READ_CHUNK):
                messages = decoder.feed(data)
                writer.write(decoder.output())  # what waited for the handshake
                for message in messages:
                    self.events.put_nowait(ClientEvent("arrived", gen=gen, message=message))
        except OtherVersion:
            reason = "the help desk runs another version of ChatApp"
        except DecodeError as exc:
            reason = f"the help desk sent something unreadable ({exc})"
        except (ConnectionError, OSError) as exc:
            reason = os_reason(exc)
        self.events.put_nowait(ClientEvent("lost", reason, gen=gen))

    def _send(self, message: DeskMessage) -> None:
        if self._opened is None or self._opened[1].is_closing():
            return  # the connection is gone: its Lost event is on its way
        _, writer, stream = self._opened
        with contextlib.suppress(ConnectionError, OSError, ValueError):
            stream.send(message)
            writer.write(stream.output())

    def _close(self) -> None:
        opened, self._opened = self._opened, None
        if opened is not None:
            with contextlib.suppress(Exception):  # already broken: nothing to tell
                opened[1].close()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class ScreenRunner(DeskRunner):
    """The operator's client on the full screen, which also looks at the waiting room every
    ROOM_LOOK seconds while on duty, and at once when the desk says it may have changed."""

    def __init__(self, core: OperatorCore, settings: RunnerSettings) -> None:
        colour = sys.stdout.isatty() and colour_wanted()
        self.screen = OperatorScreen(core, colour=colour)
        term = Terminal(self._input, tty=True, colour=colour, console=self.screen)
        super().__init__(core, msgspec.structs.replace(settings, screen=term))
        self._duty = core
        self._looks: set[str] = set()  # the looks not answered yet
        self._look_now = asyncio.Event()

    async def run(self) -> int:
        self._spawn(self._look())
        return await super().run()

    def handle(self, event: ClientEvent, now: float) -> list[Action]:
        if event.what == "typed":
            self.screen.about = TYPED
        elif isinstance(event.message, DeskMessage):
            message = event.message
            if isinstance(message, DeskRoom) and message.reply_to in self._looks:
                self._looks.discard(message.reply_to)
                self.screen.room.update(message.rows, now)
                self.screen.app.invalidate()
                actions: list[Action] = []
                self._duty.link.heard(message, now, actions.append)  # a sign of life
                return actions
            self.screen.about = message
            if isinstance(message, CHANGES):
                self._look_now.set()
        return super().handle(event, now)

    def carry_out(self, actions: list[Action]) -> None:
        try:
            super().carry_out(actions)
        finally:
            self.screen.about = None

    async def _look(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._look_now.wait(), ROOM_LOOK)
            self._look_now.clear()
            core = self._duty
            if core.link.up and core.on_duty and core.link.phase is DeskPhase.DUTY:
                look = DeskLook(core.link.new_id())
                self._looks = {*list(self._looks)[-3:], look.id}  # an old look is not waited for
                self._send(look)
            elif not core.link.up and self.screen.room.known:
                self.screen.room.forget()
                self.screen.app.invalidate()


#: Seconds a held-place file's "last alive" time may lie ahead of the clock (NTP); further
#: ahead is damage, and would hold the place for ever.
CLOCK_SKEW = 60.0
#: The secret's file in `<state dir>/desk`, kept as a key file is: the held-place file of
#: `ChatApp -d` is named by an HMAC under it, as a plain hash of a number is undone by trying them.
SECRET_FILE = "place-secret"


class _Kept(Struct):
    token: Annotated[str, Meta(min_length=1)]
    topic: int
    grace: Annotated[float, Meta(ge=0)]
    alive: float
    description: str = ""


def place_file(root: Path, ip: str, port: int, phone: str) -> Path | None:
    """The file of the place `phone` holds at the desk at `ip`:`port`, in `root`/desk; None
    when its secret cannot be had (a read-only home only costs the restart feature)."""
    folder = root / "desk"
    try:
        secret = _secret(folder)
    except (OSError, KeyFileError):
        return None
    return folder / f"{place_name(secret, f'{ip}:{port}|{phone_key(phone)}')}.json"


def load_place(path: Path) -> KeepPlace | None:
    """The place kept at `path`, if it may still be held; a stale, damaged or unreadable file
    is removed."""
    kept, _ = read_record(partial(read_bytes, path), _Kept, "place")  # (NaN: not JSON)
    now = time.time()
    # (past its grace the desk has given the place up; alive later than now, the time is damage)
    if (
        kept is not None
        and kept.topic in TOPICS
        and now - kept.grace <= kept.alive <= now + CLOCK_SKEW
    ):
        return KeepPlace(kept.token, kept.topic, kept.description, kept.grace)
    keep_place(path, KeepPlace())
    return None


def keep_place(path: Path, place: KeepPlace) -> None:
    """Write `place` at `path` (best effort); with no token, remove the file."""
    kept = _Kept(place.token, place.topic, place.grace, time.time(), place.description)
    with contextlib.suppress(OSError):
        keep_record(path, kept if place.token else None)


def _secret(folder: Path) -> bytes:
    """The secret kept in `folder`, made when there is none; a damaged one is replaced (it only
    loses the places held under it)."""
    try:
        return load_or_make_key(folder, SECRET_FILE)[0].private_bytes_raw()
    except KeyFileError:
        (folder / SECRET_FILE).unlink()
    return load_or_make_key(folder, SECRET_FILE)[0].private_bytes_raw()


def place_name(secret: bytes, label: str) -> str:
    return "place-" + hmac.new(secret, label.encode(), hashlib.sha256).hexdigest()[:32]
