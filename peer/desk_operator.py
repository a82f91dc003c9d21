"""`ChatApp -o <name> <server-ip> <server-port>`: serving at the help desk (issue 4).

The operator comes on duty serving every topic and is given the next person as soon as
one waits; `.serve 1,3` limits the topics, `.room` lists the waiting room, `.end` ends the
session and takes the next person, `.help` lists the commands, `.quit` (or Ctrl-C, or the
end of input) goes off duty. Any other line goes to the person being served. A connection
lost while on duty is made again by itself (see `_Operator`). The parser
and the way each desk message reads are shared with the registry's console operator
(`wire.desk_text`), so both behave alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import sys
import time
from pathlib import Path

from peer.desk_client import (
    LEAVE_TIMEOUT,
    RETRY_FIRST,
    RETRY_MAX,
    Background,
    EndOfInput,
    Event,
    Lost,
    Received,
    Reconnected,
    Terminal,
    Typed,
    close_writer,
    connect,
    handle_events,
    read_frames,
    send,
    style_of,
    unreachable,
    use_colour,
)
from peer.state import default_dir
from registry.desk_key import key_path, read_key
from wire.desk import (
    DeskEnded,
    DeskLeave,
    DeskMessage,
    DeskOnDuty,
    DeskOperator,
    DeskRefused,
    DeskSession,
)
from wire.desk_text import ALL_TOPICS, ALREADY_ON_DUTY, parse_operator_line, render_operator
from wire.names import name_problem
from wire.reliable import IdMaker
from wire.shown_text import clean
from wire.version import WIRE_VERSION

#: The environment variable that gives an operator the registry's operator key.
KEY_ENV = "CHATAPP_DESK_KEY"


class _Operator:
    """One operator's run: on duty until they leave. A connection lost while on duty is
    made again and again (the registry restarted, or the network blinked) until the
    operator is back on duty or leaves: the session in progress ends (its person goes back
    to the front of the waiting room), and the operator comes back serving the same topics."""

    def __init__(self, term: Terminal, name: str, ip: str, port: int, key: str) -> None:
        self.term = term
        self.events = term.events
        self.name, self.ip, self.port = name, ip, port
        self.key = key
        self.new_id = IdMaker(os.urandom(4).hex())
        self.topics: tuple[int, ...] = ALL_TOPICS
        self.writer: asyncio.StreamWriter | None = None
        self.gen = 0  # the number of the current connection: events of older ones are stale
        self.background = Background()
        self.on_duty = False  # went on duty in this run (the first DeskOnDuty came)
        self.reconnecting = False
        self.retry = RETRY_FIRST
        self.refusal = ""  # the last refusal shown while reconnecting (shown once)
        self.session = ""  # the session being served: its lines and `.end` name it

    async def run(self) -> int:
        problem = name_problem(self.name)
        if problem is not None:
            self.term.show(f"[Cannot go on duty as {self.name!r}: {problem}.]", "error")
            return 1
        try:
            reader, writer = await connect(self.ip, self.port)
        except (OSError, TimeoutError) as exc:
            self.term.show(f"[{unreachable(self.ip, self.port, exc)}]", "error")
            return 1
        self.term.set_prompt("desk> ")
        self.start_connection(reader, writer)
        try:
            return await handle_events(self.events, self.handle)
        finally:
            close_writer(self.writer)
            self.background.cancel()

    def start_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.gen += 1
        self.writer = writer
        self.background.spawn(read_frames(reader, self.gen, self.events))
        send(writer, DeskOperator(self.new_id(), self.name, self.topics, self.key, WIRE_VERSION))

    async def handle(self, event: Event) -> int | None:
        if isinstance(event, Received):
            return self.on_message(event.message) if event.gen == self.gen else None
        if isinstance(event, Lost):
            return self.on_lost(event.reason) if event.gen == self.gen else None
        if isinstance(event, Reconnected):
            self.start_connection(event.reader, event.writer)
            return None
        if isinstance(event, EndOfInput):
            return await self.leave()
        if isinstance(event, Typed):
            parsed = parse_operator_line(event.text, self.new_id, self.topics, self.session)
            for line in parsed.lines:
                self.term.show(line)
            if parsed.quit:
                return await self.leave()
            if parsed.message is not None and not send(self.writer, parsed.message):
                why = "reconnecting to the help desk" if self.reconnecting else "no connection"
                self.term.show(f"[Not sent: {why}.]", "error")
        return None

    def on_lost(self, reason: str) -> int | None:
        close_writer(self.writer)
        self.writer = None
        if not self.on_duty:  # refused, or never answered: nothing to come back to
            self.term.show(f"[The connection to the help desk was lost ({reason}).]", "error")
            return 1
        if not self.reconnecting:
            self.reconnecting = True
            ended = ""
            if self.session:
                ended = "; the session has ended and the person waits first in line again"
                self._switch("", "desk> ")
            self.term.show(
                f"[The connection to the help desk was lost ({reason}){ended}. Reconnecting; "
                "you are back on duty as soon as it answers (.quit leaves).]",
                "error",
            )
        self.background.spawn(self.reconnect())
        return None

    async def reconnect(self) -> None:
        """Wait, then try to connect until it works, waiting longer after each failure."""
        while True:
            await asyncio.sleep(self.retry)
            self.retry = min(self.retry * 2, RETRY_MAX)
            try:
                reader, writer = await connect(self.ip, self.port)
            except (OSError, TimeoutError):
                continue
            self.events.put_nowait(Reconnected(reader, writer))
            return

    def on_message(self, message: object) -> int | None:
        if not isinstance(message, DeskMessage):
            return None
        refused = message.reason if isinstance(message, DeskRefused) else ""
        if self.reconnecting and ALREADY_ON_DUTY in refused:
            # the desk has not yet seen our old connection end (it checks it is alive):
            # the refusal closes this one, and the next try comes after it (`on_lost`)
            if refused != self.refusal:
                self.refusal = refused
                self.term.show(f"[{clean(refused)} Trying again.]", "error")
            return None
        for line in render_operator(message):
            self.term.show(line, style_of(line))
        if isinstance(message, DeskOnDuty):
            self.topics = message.topics
            if not self.on_duty:
                self.on_duty = True
                self.term.show("[.help lists the commands.]")
            self.reconnecting, self.retry, self.refusal = False, RETRY_FIRST, ""
        elif isinstance(message, DeskSession):
            self._switch(message.session, f"to {message.name}> ")
        elif isinstance(message, DeskEnded):
            self._switch("", "desk> ")
        elif isinstance(message, DeskRefused):
            return 1
        return None

    def _switch(self, session: str, prompt: str) -> None:
        """Another session (or none) from now on: what was typed for the last one is not
        sent to the next person, but shown, unsent."""
        self.session = session
        typed = self.term.take_typed()
        if typed.strip():
            self.term.show(f"[Not sent (typed for the session before): {clean(typed)}]", "error")
        self.term.set_prompt(prompt)

    async def leave(self) -> int:
        """Go off duty (a session in progress ends; its person is told) and say so."""
        if send(self.writer, DeskLeave(self.new_id())):
            deadline = time.monotonic() + LEAVE_TIMEOUT
            while (left := deadline - time.monotonic()) > 0:
                try:
                    event = await asyncio.wait_for(self.events.get(), left)
                except TimeoutError:
                    break
                if isinstance(event, Received) and isinstance(event.message, DeskEnded):
                    self.on_message(event.message)
                    return 0
                if isinstance(event, Received) and isinstance(event.message, DeskRefused):
                    self.on_message(event.message)  # never on duty: a wrong key, say
                    return 1
                if isinstance(event, Lost):
                    break
        self.term.show("[You are off duty.]")
        return 0


def find_operator_key(stdin_is_tty: bool, registry_dir: Path | None = None) -> str | None:
    """The operator key to go on duty with: $CHATAPP_DESK_KEY; else the key of a registry
    of this user on this machine (in `registry_dir`, the `--data-dir` given, else its
    default data directory); else asked for, unechoed, when standard input is a terminal.
    None when there is none of these."""
    given = os.environ.get(KEY_ENV, "").strip()
    if given:
        return given
    local = read_key(key_path(registry_dir or default_dir("registry")))
    if local is not None:
        return local
    if stdin_is_tty:
        with contextlib.suppress(EOFError, KeyboardInterrupt):
            return getpass.getpass("Operator key: ").strip() or None
    return None


#: What an operator is told when no key was found (see `find_operator_key`).
NO_KEY = (
    f"an operator needs the registry's operator key: set {KEY_ENV}, or start on a terminal "
    "to be asked for it (the registry keeps it in its data directory, file desk-key)"
)


async def run_operator(
    name: str,
    server_ip: str,
    server_port: int,
    *,
    key: str,
    stdin_is_tty: bool,
    colour: bool | None = None,
) -> int:
    """`ChatApp -o <name> <server-ip> <server-port>`: serve at the help desk as `name`, with
    the operator `key`; return the exit status (0 after going off duty, 1 when the desk
    could not be reached, refused the name or the key, or the connection was lost before
    going on duty). Never raises."""
    events: asyncio.Queue[Event] = asyncio.Queue()
    term = Terminal(events, tty=stdin_is_tty, colour=use_colour(colour))
    term.start()
    try:
        return await _Operator(term, name, server_ip, server_port, key).run()
    except Exception as exc:  # no traceback ever reaches the user
        term.show(f"[The operator client stopped on an unexpected error: {exc!r}]", "error")
        return 1
    finally:
        await term.close()


def _main(argv: list[str]) -> int:
    if len(argv) != 3 or not argv[2].isdigit():
        print(
            "usage: python -m peer.desk_operator <name> <server-ip> <server-port>", file=sys.stderr
        )
        return 2
    tty = sys.stdin.isatty()
    key = find_operator_key(tty)
    if key is None:
        print(f"python -m peer.desk_operator: {NO_KEY}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run_operator(argv[0], argv[1], int(argv[2]), key=key, stdin_is_tty=tty))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
