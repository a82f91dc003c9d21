"""`ChatApp -d <server-ip> <server-port>`: asking the help desk for help (issue 4, seed 000).

The person types a name and a registered mobile number, picks a topic from the menu, and
waits in the registry's waiting room until an operator serves them. While waiting they
see their position (pushed when it changes), `.queue` tells how many are ahead and the
estimated wait, and `.quit` or Ctrl-C leaves. A dropped connection is re-established by
itself with the token the desk gave; the token is also kept in a small file under the
per-user state directory (keyed by a hash of the desk's address and the phone number), so
that restarting `ChatApp -d` within the grace period takes the place back.

This module also holds what the operator's client (`peer.desk_operator`) shares with it:
the terminal (prompt_toolkit on a terminal, plain flushed lines otherwise) and the
connection reader. Everything the user does and everything the desk says arrives as one
stream of events on an asyncio queue, handled one at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peer.prompt_keys import stray_escapes
from peer.state import os_reason
from registry.desk_service import enable_keepalive
from wire.desk import (
    DeskCrisis,
    DeskEnd,
    DeskEnded,
    DeskJoin,
    DeskLeave,
    DeskLine,
    DeskMessage,
    DeskPosition,
    DeskQueued,
    DeskQueueRequest,
    DeskRefused,
    DeskServed,
)
from wire.desk_text import (
    CRISIS_TOPICS,
    DEFAULT_CRISIS_NOTICE,
    DESCRIBE_TOPICS,
    MAX_DESCRIPTION,
    MAX_DESK_LINE,
    MENU_TRIES,
    crisis_lines,
    menu_lines,
    name_problem,
    normalise_phone,
    phone_problem,
    render_person,
    topic_label,
    topic_problem,
)
from wire.errors import DecodeError, OtherVersion
from wire.framing import StreamDecoder, encode_frame
from wire.messages import Message
from wire.reliable import IdMaker
from wire.version import WIRE_VERSION

#: Seconds to wait for the desk to accept a TCP connection.
CONNECT_TIMEOUT = 5.0
#: Seconds to wait for the desk to confirm a `.quit` before closing anyway.
LEAVE_TIMEOUT = 2.0
#: Seconds between reconnection attempts: doubling from the first to the last.
RETRY_FIRST, RETRY_MAX = 0.5, 4.0
#: Seconds between refreshes of the held-place file while waiting (it tells a restarted
#: client whether the place can still be held).
TICK = 5.0
READ_CHUNK = 64 * 1024

PERSON_HELP = (
    "[.queue shows how many are ahead and the estimated wait; .quit (or Ctrl-C) leaves;",
    " once you are served, type a message and press Enter; .end ends the session.]",
)


# -- events -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Typed:
    """The user typed a line."""

    text: str


@dataclass(frozen=True, slots=True)
class EndOfInput:
    """Standard input ended (Ctrl-D, end of a pipe) or the user pressed Ctrl-C."""

    interrupted: bool


@dataclass(frozen=True, slots=True)
class Received:
    """A message arrived on connection number `gen`."""

    gen: int
    message: Message


@dataclass(frozen=True, slots=True)
class Lost:
    """Connection number `gen` ended."""

    gen: int
    reason: str


@dataclass(frozen=True, slots=True)
class Reconnected:
    """A new connection is up (after a lost one)."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


@dataclass(frozen=True, slots=True)
class GaveUp:
    """Reconnecting did not succeed within the grace period."""

    reason: str


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passes (every TICK seconds)."""


Event = Typed | EndOfInput | Received | Lost | Reconnected | GaveUp | Tick


# -- the terminal -------------------------------------------------------------------------

_STYLES = {
    "system": "\x1b[36m",  # cyan: the desk's own lines
    "alert": "\x1b[1;31m",  # bold red: the crisis notice
    "error": "\x1b[31m",
    "chat": "\x1b[1m",
    "prompt": "\x1b[1m",
}


def use_colour(requested: bool | None = None) -> bool:
    """Colour only on a terminal, never with NO_COLOR set (DESIGN.md section 5)."""
    if requested is False or "NO_COLOR" in os.environ:
        return False
    return sys.stdout.isatty()


class Terminal:
    """Lines in, lines out. On a terminal it uses prompt_toolkit, so incoming lines never
    garble the line being typed; otherwise it reads one line per input on a thread and
    prints plain lines, flushed at once (DESIGN.md section 5). Every line printed starts
    with `>>> `. Input arrives as Typed / EndOfInput events on `events`."""

    def __init__(self, events: asyncio.Queue[Event], *, tty: bool, colour: bool) -> None:
        self.events = events
        self.tty = tty
        self.colour = colour
        self._prompt = "> "
        self._stack = contextlib.ExitStack()
        self._task: asyncio.Task[None] | None = None
        self._sigint = False
        self._session: Any = None  # the PromptSession on a terminal

    def start(self) -> None:
        """Begin reading standard input."""
        for stream in (sys.stdout, sys.stdin):
            with contextlib.suppress(AttributeError, ValueError):
                stream.reconfigure(errors="replace")  # type: ignore[union-attr]
        loop = asyncio.get_running_loop()
        if self.tty:
            from prompt_toolkit.patch_stdout import patch_stdout

            self._stack.enter_context(patch_stdout(raw=True))
            self._task = asyncio.create_task(self._prompt_loop())
            return
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, self._interrupted)
            self._sigint = True

        def read() -> None:
            try:
                for line in sys.stdin:
                    loop.call_soon_threadsafe(self.events.put_nowait, Typed(line.rstrip("\r\n")))
            except (OSError, ValueError):
                pass
            with contextlib.suppress(RuntimeError):  # the loop may be gone already
                loop.call_soon_threadsafe(self.events.put_nowait, EndOfInput(False))

        threading.Thread(target=read, name="stdin", daemon=True).start()

    async def close(self) -> None:
        """Stop reading; put the terminal back as it was, with every line printed."""
        if self._task is not None:
            # The prompt must be gone before stdout is unpatched, or the last lines printed
            # above it can be lost with it.
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._sigint:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)
        self._stack.close()

    def _interrupted(self) -> None:
        self.events.put_nowait(EndOfInput(True))

    async def _prompt_loop(self) -> None:
        from prompt_toolkit import PromptSession

        session: PromptSession[str] = PromptSession()
        self._session = session
        while True:
            try:
                line = await session.prompt_async(
                    lambda: self._prompt, key_bindings=stray_escapes()
                )
            except KeyboardInterrupt:
                # Ctrl-C always ends the run: no fresh prompt under the lines of leaving
                self.events.put_nowait(EndOfInput(True))
                return
            except EOFError:
                self.events.put_nowait(EndOfInput(False))
                return
            self.events.put_nowait(Typed(line))

    def ask(self, question: str) -> None:
        """Show a question: as the prompt on a terminal, as a line otherwise."""
        if self.tty:
            self.set_prompt(question + " ")
        else:
            self.show(question, "prompt")

    def set_prompt(self, prompt: str) -> None:
        """The prompt shown on a terminal while chatting."""
        self._prompt = prompt
        # The next prompt may already be on screen with the old text: redraw it.
        if self._session is not None and self._session.app.is_running:
            self._session.app.invalidate()

    def take_typed(self) -> str:
        """Empty the line being typed on a terminal and return what it held ("" when not a
        terminal: a line is read whole)."""
        if self._session is None or not self._session.app.is_running:
            return ""
        buffer = self._session.default_buffer
        text: str = buffer.text
        buffer.reset()
        return text

    def show(self, line: str, style: str = "system") -> None:
        """Print one line, prefixed with `>>> `."""
        text = ">>> " + line
        if self.colour and style in _STYLES:
            text = f"{_STYLES[style]}{text}\x1b[0m"
        print(text, flush=True)


def style_of(line: str) -> str:
    """How a rendered desk line is shown: bracketed lines are the desk's own."""
    if line.startswith("!!!"):
        return "alert"
    return "system" if line.startswith("[") else "chat"


# -- the connection -----------------------------------------------------------------------


async def connect(ip: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a TCP connection to the desk; raises OSError or TimeoutError."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), CONNECT_TIMEOUT)
    enable_keepalive(writer)
    return reader, writer


async def read_frames(reader: asyncio.StreamReader, gen: int, events: asyncio.Queue[Event]) -> None:
    """Turn the frames of connection `gen` into Received events, then one Lost event."""
    decoder = StreamDecoder()
    reason = "the help desk closed the connection"
    try:
        while True:
            data = await reader.read(READ_CHUNK)
            if not data:
                break
            for message in decoder.feed(data):
                events.put_nowait(Received(gen, message))
    except OtherVersion as exc:
        reason = f"the help desk runs another version of ChatApp ({exc})"
    except DecodeError as exc:
        reason = f"the help desk sent something unreadable ({exc})"
    except (ConnectionError, OSError) as exc:
        reason = os_reason(exc)
    events.put_nowait(Lost(gen, reason))


def send(writer: asyncio.StreamWriter | None, message: DeskMessage) -> bool:
    """Write one frame; False when the connection is gone."""
    if writer is None or writer.is_closing():
        return False
    try:
        writer.write(encode_frame(message))
    except (ConnectionError, OSError, ValueError):
        return False
    return True


class Background:
    """The tasks a client's run starts beside its event loop (reading a connection,
    reconnecting, ticking): all cancelled together when the run ends."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()


async def handle_events(
    events: asyncio.Queue[Event], handle: Callable[[Event], Awaitable[int | None]]
) -> int:
    """Hand each event to `handle` until it returns an exit status; return that."""
    while True:
        code = await handle(await events.get())
        if code is not None:
            return code


def close_writer(writer: asyncio.StreamWriter | None) -> None:
    """Close a connection, ignoring one that is already broken."""
    if writer is not None:
        with contextlib.suppress(Exception):
            writer.close()


def unreachable(ip: str, port: int, exc: BaseException) -> str:
    """Why the desk could not be reached, as a sentence."""
    why = "no answer" if isinstance(exc, TimeoutError) else os_reason(exc)
    return f"Cannot reach the help desk at {ip}:{port} ({why})."


# -- the held place -----------------------------------------------------------------------


class HeldPlace:
    """The token of a place in the waiting room, kept in a file so that a restarted client
    takes the place back. One file per desk address and phone number, named by a hash of
    both (the file name never shows the number); readable only by this user."""

    def __init__(self, root: Path, ip: str, port: int, phone: str) -> None:
        digest = hashlib.sha256(f"{ip}:{port}|{phone}".encode()).hexdigest()[:32]
        self.path = root / "desk" / f"{digest}.json"

    def load(self) -> dict[str, Any] | None:
        """The kept place, if there is one that may still be held: its token, topic,
        description, and the grace period; None otherwise (stale files are removed)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        token, topic, grace, alive = (data.get(k) for k in ("token", "topic", "grace", "alive"))
        description = data.get("description", "")
        if not (
            isinstance(token, str)
            and token
            and isinstance(topic, int)
            and isinstance(description, str)
            and isinstance(grace, int | float)
            and isinstance(alive, int | float)
        ):
            self.clear()
            return None
        if time.time() > alive + grace:
            self.clear()  # the desk has given the place up by now
            return None
        return data

    def save(self, token: str, topic: int, description: str, grace: float) -> None:
        """Keep the place (or refresh the time it was last known alive). Best effort: a
        read-only home only costs the restart feature."""
        data = {
            "token": token,
            "topic": topic,
            "description": description,
            "grace": grace,
            "alive": time.time(),
        }
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
            os.replace(tmp, self.path)

    def clear(self) -> None:
        """Forget the place (left, served, refused or given up)."""
        with contextlib.suppress(OSError):
            self.path.unlink()


def state_root() -> Path:
    """The per-user directory the held-place files go under ($CHATAPP_DATA_DIR overrides)."""
    from peer.state import default_dir

    return default_dir("desk")


# -- the person ---------------------------------------------------------------------------


class _Person:
    """One run of the desk client: the form, then the wait, then the session."""

    def __init__(self, term: Terminal, ip: str, port: int, root: Path) -> None:
        self.term = term
        self.events = term.events
        self.ip, self.port = ip, port
        self.root = root
        self.new_id = IdMaker(os.urandom(4).hex())
        self.name = self.phone = self.description = ""
        self.topic = 0
        self.token = ""
        self.grace = 0.0
        self.crisis = ""
        self.phase = "form"  # form, joining, waiting, served, reconnecting, leaving
        self.gen = 0
        self.writer: asyncio.StreamWriter | None = None
        self.background = Background()
        self.held: HeldPlace | None = None
        self.position = -1
        self.operators = -1
        self.sent_token = ""
        self.lost_at = 0.0

    # -- the form -------------------------------------------------------------------------

    async def ask(self, question: str, problem: Callable[[str], str | None]) -> str | None:
        """Ask until the answer is acceptable; None when input ends."""
        while True:
            self.term.ask(question)
            event = await self.events.get()
            if isinstance(event, EndOfInput):
                return None
            if not isinstance(event, Typed):
                continue
            text = event.text.strip()
            if text in (".quit", ".exit"):
                return None
            why = problem(text)
            if why is None:
                return text
            self.term.show(f"[{why}]", "error")

    async def choose_topic(self) -> int | None:
        """The menu, with MENU_TRIES tries in all; 0 when they are used up."""
        for line in menu_lines():
            self.term.show(line)
        for attempt in range(1, MENU_TRIES + 1):
            self.term.ask("Topic (1-6):")
            event = await self.events.get()
            while not isinstance(event, Typed | EndOfInput):
                event = await self.events.get()
            if isinstance(event, EndOfInput) or event.text.strip() in (".quit", ".exit"):
                return None
            topic, why = topic_problem(event.text)
            if topic is not None:
                return topic
            left = MENU_TRIES - attempt
            more = f" {left} {'try' if left == 1 else 'tries'} left." if left else ""
            self.term.show(f"[{why}{more}]", "error")
        return 0

    async def form(self) -> int | None:
        """Name, number, topic (and description). An exit status when the form ends the run."""
        self.term.show(
            f"[ChatApp help desk at {self.ip}:{self.port}. Type .quit at any time to leave.]"
        )
        name = await self.ask("Name:", name_problem)
        if name is None:
            return self.bye()
        phone_typed = await self.ask("Registered mobile number:", phone_problem)
        if phone_typed is None:
            return self.bye()
        self.name, self.phone = name, normalise_phone(phone_typed) or phone_typed
        self.held = HeldPlace(self.root, self.ip, self.port, self.phone)
        kept = self.held.load()
        if kept is not None:
            self.token = kept["token"]
            self.topic = kept["topic"]
            self.description = kept["description"]
            self.term.show(
                f"[You had a place in the waiting room a moment ago ({topic_label(self.topic)}); "
                "taking it back.]"
            )
            return None
        topic = await self.choose_topic()
        if topic is None:
            return self.bye()
        if topic == 0:
            self.term.show(
                f"[No valid topic after {MENU_TRIES} tries, so the help desk client closes. "
                "Start it again and type a number from 1 to 6.]",
                "error",
            )
            return 1
        self.topic = topic
        if topic in DESCRIBE_TOPICS:
            self.term.show("[Please describe your problem in a sentence or two.]")
            description = await self.ask("Description:", _description_problem)
            if description is None:
                return self.bye()
            self.description = description
        return None

    # -- the run --------------------------------------------------------------------------

    async def run(self) -> int:
        ended = await self.form()
        if ended is not None:
            return ended
        self.term.set_prompt("> ")
        try:
            reader, writer = await connect(self.ip, self.port)
        except (OSError, TimeoutError) as exc:
            self.term.show(f"[{unreachable(self.ip, self.port, exc)}]", "error")
            if self.topic in CRISIS_TOPICS:
                for line in crisis_lines(DEFAULT_CRISIS_NOTICE):
                    self.term.show(line, "alert")
            return 1
        self.start_connection(reader, writer)
        self.background.spawn(self.ticker())
        try:
            return await handle_events(self.events, self.handle)
        finally:
            close_writer(self.writer)
            self.background.cancel()

    async def ticker(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            self.events.put_nowait(Tick())

    def start_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.gen += 1
        self.writer = writer
        self.phase = "joining"
        self.sent_token = self.token
        self.background.spawn(read_frames(reader, self.gen, self.events))
        send(
            writer,
            DeskJoin(
                self.new_id(),
                self.name,
                self.phone,
                self.topic,
                self.description,
                self.token,
                WIRE_VERSION,
            ),
        )

    async def handle(self, event: Event) -> int | None:
        if isinstance(event, Received) and event.gen == self.gen:
            return self.on_message(event.message)
        if isinstance(event, Lost) and event.gen == self.gen:
            return self.on_lost(event.reason)
        if isinstance(event, Typed):
            return await self.on_typed(event.text)
        if isinstance(event, EndOfInput):
            return await self.leave()
        if isinstance(event, Reconnected):
            self.term.show("[Connected again.]")
            self.start_connection(event.reader, event.writer)
        elif isinstance(event, GaveUp):
            self.term.show(f"[{event.reason}]", "error")
            return self.finish(1)
        elif (
            isinstance(event, Tick)
            and self.phase in ("waiting", "served")
            and self.held
            and self.token
        ):
            # Refresh the held-place file: it tells a restarted client the place is alive.
            self.held.save(self.token, self.topic, self.description, self.grace)
        return None

    def show_rendered(self, message: DeskMessage) -> None:
        for line in render_person(message):
            self.term.show(line, style_of(line))

    def on_message(self, message: Message) -> int | None:
        if isinstance(message, DeskCrisis):
            self.crisis = message.text
            self.show_rendered(message)
        elif isinstance(message, DeskQueued):
            self.on_queued(message)
        elif isinstance(message, DeskPosition):
            self.on_position(message)
        elif isinstance(message, DeskServed):
            # the held-place file stays: should the connection break during the session,
            # a place at the front is held for this token (see `on_lost`)
            self.phase = "served"
            self.show_rendered(message)
        elif isinstance(message, DeskEnded):
            self.show_rendered(message)
            if message.requeued:
                self.phase = "joining"  # a DeskQueued with the new place follows
                self.position = -1
                return None
            return self.finish(0 if self.phase in ("served", "leaving") else 1)
        elif isinstance(message, DeskRefused):
            self.show_rendered(message)
            return self.finish(1)
        elif isinstance(message, DeskMessage):
            self.show_rendered(message)
        return None

    def on_queued(self, queued: DeskQueued) -> None:
        self.token = queued.token
        self.grace = float(queued.grace)
        self.phase = "waiting"
        if self.held is not None:
            self.held.save(self.token, self.topic, self.description, self.grace)
        if self.sent_token and not queued.restored:
            self.term.show(
                "[Your earlier place could not be kept, so you join the waiting room again.]"
            )
        self.operators = queued.operators
        self.position = queued.position
        if queued.position > 0:
            self.show_rendered(queued)

    def on_position(self, update: DeskPosition) -> None:
        if self.operators == 0 and update.operators > 0:
            self.term.show("[An operator for your topic is on duty now.]")
        elif self.operators > 0 and update.operators == 0:
            self.term.show("[No operator for your topic is on duty any more; you keep your place.]")
        self.operators = update.operators
        if update.position != self.position:
            self.position = update.position
            self.show_rendered(update)

    def on_lost(self, reason: str) -> int | None:
        close_writer(self.writer)
        self.writer = None
        if self.phase == "leaving":
            return self.finish(0)
        if self.token and self.phase in ("served", "waiting", "joining", "reconnecting"):
            # a place is held for our token, at the front when we were being served: a
            # blip of the network is not the end of the call
            if self.phase != "reconnecting":
                self.lost_at = time.monotonic()
                kept = (
                    "the session has ended. Reconnecting: you keep a place at the front"
                    if self.phase == "served"
                    else "reconnecting. Your place is kept"
                )
                self.term.show(
                    f"[The connection to the help desk was lost ({reason}); {kept} for "
                    f"{int(self.grace)} s.]",
                    "error",
                )
            self.phase = "reconnecting"
            self.background.spawn(self.reconnect())
            return None
        if self.phase == "served":
            self.term.show(
                f"[The connection to the help desk was lost ({reason}); the session has ended.]",
                "error",
            )
            return self.finish(1)
        self.term.show(f"[The help desk closed the connection ({reason}).]", "error")
        return self.finish(1)

    async def reconnect(self) -> None:
        """Try again and again until the grace period is nearly over."""
        deadline = self.lost_at + self.grace
        delay = RETRY_FIRST
        while True:
            await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            if time.monotonic() >= deadline:
                self.events.put_nowait(
                    GaveUp("Could not reach the help desk in time; your place was given up.")
                )
                return
            try:
                reader, writer = await connect(self.ip, self.port)
            except (OSError, TimeoutError):
                delay = min(delay * 2, RETRY_MAX)
                continue
            self.events.put_nowait(Reconnected(reader, writer))
            return

    async def on_typed(self, raw: str) -> int | None:
        text = raw.strip()
        command = text.lower()
        if command in (".quit", ".exit"):
            return await self.leave()
        if command == ".help":
            for line in PERSON_HELP:
                self.term.show(line)
            return None
        if command == ".queue":
            if self.phase == "served":
                self.term.show("[You are being served now.]")
            elif self.phase == "waiting":
                send(self.writer, DeskQueueRequest(self.new_id()))
            elif self.phase == "reconnecting":
                self.term.show("[Reconnecting to the help desk; your place is kept.]")
            else:
                self.term.show("[One moment: joining the waiting room.]")
            return None
        if command == ".end":
            if self.phase == "served":
                send(self.writer, DeskEnd(self.new_id(), ""))
            else:
                self.term.show("[You are not being served yet; .quit leaves the waiting room.]")
            return None
        if text.startswith(".") and not text.startswith(".."):
            self.term.show(f"[Unknown command {text.split()[0][:20]}; .help lists them.]")
            return None
        line = raw[1:] if text.startswith("..") else raw
        if not line.strip():
            return None
        if self.phase != "served":
            self.term.show(
                "[You are not being served yet, so the line was not sent; .queue shows where "
                "you stand.]"
            )
            return None
        if len(line) > MAX_DESK_LINE:
            self.term.show(f"[Line too long: at most {MAX_DESK_LINE} characters.]", "error")
            return None
        send(self.writer, DeskLine(self.new_id(), "", line, ""))
        return None

    async def leave(self) -> int:
        """`.quit`, Ctrl-C or the end of input: give the place up and say so."""
        if self.phase == "reconnecting" or not send(self.writer, DeskLeave(self.new_id())):
            self.term.show("[You left the help desk.]")
            return self.finish(0)
        self.phase = "leaving"
        # Wait for the desk's goodbye, so that the leave is not lost in a reset connection.
        deadline = time.monotonic() + LEAVE_TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = await asyncio.wait_for(self.events.get(), left)
            except TimeoutError:
                break
            if isinstance(event, Received) and event.gen == self.gen:
                if isinstance(event.message, DeskEnded | DeskRefused):
                    self.show_rendered(event.message)
                    return self.finish(0)
            elif isinstance(event, Lost) and event.gen == self.gen:
                break
        self.term.show("[You left the help desk.]")
        return self.finish(0)

    def finish(self, code: int) -> int:
        """The run ends: forget the place unless it may still be taken back, and show the
        crisis notice again to whoever came for topic 1."""
        if self.held is not None:
            self.held.clear()
        if self.topic in CRISIS_TOPICS:
            for line in crisis_lines(self.crisis or DEFAULT_CRISIS_NOTICE):
                self.term.show(line, "alert")
        return code

    def bye(self) -> int:
        self.term.show("[Bye.]")
        return 0


def _description_problem(text: str) -> str | None:
    if not text:
        return "Please write a few words."
    if len(text) > MAX_DESCRIPTION:
        return f"Please keep it under {MAX_DESCRIPTION} characters."
    return None


async def run_desk_client(
    server_ip: str,
    server_port: int,
    *,
    stdin_is_tty: bool,
    state_dir: Path | None = None,
    colour: bool | None = None,
) -> int:
    """`ChatApp -d <server-ip> <server-port>`: ask the help desk for help; return the exit
    status (0 after leaving or a finished session, 1 when the desk could not be reached,
    refused, was lost while being served, or no valid topic was chosen). Reads standard
    input as lines (a terminal gets an editable prompt); never raises."""
    events: asyncio.Queue[Event] = asyncio.Queue()
    term = Terminal(events, tty=stdin_is_tty, colour=use_colour(colour))
    term.start()
    try:
        person = _Person(term, server_ip, server_port, state_dir or state_root())
        return await person.run()
    except Exception as exc:  # no traceback ever reaches the user
        term.show(f"[The help desk client stopped on an unexpected error: {exc!r}]", "error")
        return 1
    finally:
        await term.close()


def _main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: python -m peer.desk_client <server-ip> <server-port>", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run_desk_client(argv[0], int(argv[1]), stdin_is_tty=sys.stdin.isatty()))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
