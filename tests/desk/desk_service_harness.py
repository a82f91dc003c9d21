"""A DeskService on a free loopback port, raw clients that speak its frames, and the
registry console's screen, for the tests of the desk's adapter and its console."""

from __future__ import annotations

import asyncio
import select
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from net.served_stream import READ_CHUNK
from registry.adapter.desk.service import DeskService
from registry.core.desk.limits import DeskSettings
from secure.noise import public_bytes
from secure.stream import SecureStream
from tests.desk.standalone_desk import accept_secure
from wire.desk.messages import DeskJoin
from wire.desk.text import DESCRIBE_TOPICS
from wire.messages import Message
from wire.version import WIRE_VERSION

PHONE = "+44 7700 900123"
#: The longest a test waits for what it expects: a bound for failing, never a pause (a
#: loaded host may take seconds to run the desk's side).
WAIT = 15.0


#: The desk's key in these tests, which every client pins.
DESK_KEY = X25519PrivateKey.generate()


DESK_PUBLIC = public_bytes(DESK_KEY)


class Client:
    """A raw desk connection speaking frames."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        desk_sides: dict[int, int] | None = None,
        key: bytes = DESK_PUBLIC,
    ) -> None:
        self.reader, self.writer = reader, writer
        self.decoder = SecureStream(X25519PrivateKey.generate(), remote=key)
        writer.write(self.decoder.output())
        self.inbox: list[Message] = []
        # the file descriptor of the desk's end of each connection, by the client's port
        # (see `readable_at_desk`)
        self._desk_sides = desk_sides or {}

    def readable_at_desk(self) -> None:
        """Wait, without letting the event loop run, until what this client sent can be
        read at the desk's end of the connection: it is there, not read yet, as for a
        registry stopped while it came."""
        side = self._desk_sides[self.writer.get_extra_info("sockname")[1]]
        readable, _, _ = select.select([side], [], [], WAIT)
        assert readable, "what was sent never reached the desk"

    def send(self, message: Message) -> None:
        self.decoder.send(message)
        self.writer.write(self.decoder.output())

    def send_encoded(self, body: bytes) -> None:
        """Send `body` as a message's encoding, in the secure session (a bad one)."""
        self.decoder.send_encoded(body)
        self.writer.write(self.decoder.output())

    async def next(self, kind: type, timeout: float = WAIT) -> Message:
        """The next message of `kind`, reading as needed."""

        async def find() -> Message:
            while True:
                for i, message in enumerate(self.inbox):
                    if isinstance(message, kind):
                        return self.inbox.pop(i)
                data = await self.reader.read(READ_CHUNK)
                if not data:
                    raise EOFError(f"closed while waiting for {kind.__name__}: {self.inbox}")
                self.inbox += self.decoder.feed(data)
                self.writer.write(self.decoder.output())

        return await asyncio.wait_for(find(), timeout)

    async def closed(self, timeout: float = WAIT) -> bool:
        async def drain() -> bool:
            while await self.reader.read(READ_CHUNK):
                pass
            return True

        return await asyncio.wait_for(drain(), timeout)


Connect = Callable[[], Awaitable[Client]]


Scenario = Callable[[DeskService, Connect, list[str]], Awaitable[None]]


def run(tmp_path: Path, scenario: Scenario, **options: object) -> list[str]:
    """Serve a DeskService on a free loopback port and run `scenario` against it."""
    logs: list[str] = []

    async def main() -> None:
        clock: Any = options.pop("clock", time.monotonic)
        desk = DeskService(tmp_path, logs.append, DeskSettings(**options), clock=clock)
        await desk.start()
        desk_sides: dict[int, int] = {}

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            desk_sides[writer.get_extra_info("peername")[1]] = writer.get_extra_info(
                "socket"
            ).fileno()
            await accept_secure(desk, DESK_KEY, reader, writer)

        server = await asyncio.start_server(accept, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]

        async def connect() -> Client:
            return Client(*await asyncio.open_connection("127.0.0.1", port), desk_sides)

        try:
            await scenario(desk, connect, logs)
        finally:
            server.close()
            await desk.close()

    asyncio.run(main())
    return logs


def join(name: str, phone: str = PHONE, topic: int = 2, token: str = "") -> DeskJoin:
    described = "weak in maths" if topic in DESCRIBE_TOPICS else ""
    return DeskJoin(f"j-{name}", name, phone, topic, described, token, WIRE_VERSION)


async def joined(connect: Connect, request: DeskJoin, until: type) -> Client:
    """A new connection that has sent `request` and been told `until` (queued, or served)."""
    client = await connect()
    client.send(request)
    await client.next(until)
    return client


class ConsoleScreen:
    """What the registry's console shows of the desk (`show` is its output), and a way to
    wait for a line to appear."""

    def __init__(self) -> None:
        self.printed: list[str] = []
        self._shown = asyncio.Event()

    def show(self, line: str) -> None:
        self.printed.append(line)
        self._shown.set()

    async def until(self, line: str, timeout: float = WAIT) -> None:
        """Wait until `line` has been shown."""
        while line not in self.printed:
            self._shown.clear()
            await asyncio.wait_for(self._shown.wait(), timeout)
