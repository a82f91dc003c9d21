"""The registry's console log: a line about a request is written after the answers it
caused have left, and lines keep their order."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from secure_peer import SecurePeer

from registry.adapter.server import RegistryServer
from registry.adapter.settings import RegistrySettings
from registry.adapter.store import FileStore, mail_line, table_text
from registry.core.table import Record, Table
from wire.desk.messages import DeskJoin
from wire.messages import (
    ChannelPost,
    Deregister,
    Keepalive,
    Refused,
    Register,
    StoredMessage,
    Welcome,
)
from wire.version import WIRE_VERSION

pytestmark = pytest.mark.timeout(20)

Addr = tuple[str, int]


class Console:
    """What the registry wrote, in order: its log lines, and "sent <datagram>" for each
    datagram it sent, so that a test can see which came first."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self._changed = asyncio.Event()

    def add(self, event: str) -> None:
        self.events.append(event)
        self._changed.set()

    async def line(self, text: str) -> int:
        """The index of the first event holding `text`, once there is one."""
        while True:
            found = [i for i, event in enumerate(self.events) if text in event]
            if found:
                return found[0]
            self._changed.clear()
            await asyncio.wait_for(self._changed.wait(), 5.0)

    def first_send_of(self, kind: str) -> int:
        return next(i for i, e in enumerate(self.events) if e.startswith("sent") and kind in e)


async def _serve(tmp_path: Path, console: Console) -> tuple[RegistryServer, Addr]:
    server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=console.add)
    addr = await server.start()
    # every datagram the registry sends, as it leaves (the test's peers use UDP only)
    server.endpoint.outgoing.on_sent = lambda data, to: console.add(f"sent {data.decode()}")
    return server, addr


async def _register(sock: SecurePeer, name: str, registry: Addr) -> str:
    """Register `name` for `sock` as a peer does the first time; its token."""
    sock.send(Register(f"r-{name}", name, sock.address[1], "", "", WIRE_VERSION), registry)
    while True:
        for message in await sock.receive():
            if isinstance(message, Welcome):
                return message.token


def _peer(server: RegistryServer) -> SecurePeer:
    return SecurePeer(server.endpoint.channel.public)


def test_a_registration_is_logged_after_its_welcome_left(tmp_path: Path) -> None:
    async def scenario() -> None:
        console = Console()
        server, addr = await _serve(tmp_path, console)
        with _peer(server) as sock:
            await _register(sock, "alice", addr)
            logged = await console.line("registered alice")
            assert console.first_send_of('"t":"Welcome"') < logged, console.events
        await server.close()

    asyncio.run(scenario())


def test_a_channel_message_is_logged_after_its_relay_left(tmp_path: Path) -> None:
    async def scenario() -> None:
        console = Console()
        server, addr = await _serve(tmp_path, console)
        with _peer(server) as alice, _peer(server) as bob:
            token = await _register(alice, "alice", addr)
            await _register(bob, "bob", addr)
            alice.send(ChannelPost("p-1", "alice", token, "hi all"), addr)
            logged = await console.line("channel message from alice relayed")
            assert console.first_send_of('"t":"ChannelMessage"') < logged, console.events
        await server.close()

    asyncio.run(scenario())


def test_the_first_line_counts_in_words_that_agree(tmp_path: Path) -> None:
    lines: list[str] = []
    FileStore(tmp_path).append_line(
        "bob", mail_line(StoredMessage("s-1", "ann", "hi", "2026-01-01 10:00", "direct"))
    )
    table = Table()
    table.records["bob"] = Record("bob", "127.0.0.1", 7000, False, "1" * 32)
    FileStore(tmp_path).write_table(table_text(table))

    async def scenario() -> None:
        server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=lines.append)
        await server.start()
        await server.close()

    asyncio.run(scenario())
    assert "; 1 known name, 1 stored message" in lines[0], lines[0]  # not "1 known names"


def test_log_lines_keep_their_order_and_are_written_by_close(tmp_path: Path) -> None:
    lines: list[str] = []

    async def scenario() -> None:
        server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=lines.append)
        server.log("first")
        server.log("second")
        assert lines == []  # written at the end of the pass
        await asyncio.sleep(0)  # the end of this pass: nothing else to wait for
        assert [line.split(" ", 1)[1] for line in lines] == ["first", "second"]
        server.log("third")
        await server.close()
        assert lines[-1].endswith(" third")

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "is empty"),
        (b"\n  \n", "is empty"),
        (b"\xff\xfe\x00\x81binary", "is not text"),
        (b"\x00\x01\x02\x03", "holds control characters"),
    ],
)
def test_an_unusable_operator_key_file_closes_the_desk_not_the_registry(
    tmp_path: Path, content: bytes, why: str
) -> None:
    where = tmp_path / "desk-key"
    where.write_bytes(content)

    async def scenario() -> None:
        lines: list[str] = []
        server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=lines.append)
        await server.start()
        said = [line for line in lines if "operator key file" in line]
        assert said == [
            f"The help desk's operator key file {where} {why}" + said[0].split(why, 1)[1]
        ]
        assert "delete the file to have a new key made, or put a key in it" in said[0]
        assert "chat works" in said[0]
        server.console.line(".room")
        await asyncio.sleep(0)  # the end of this pass, where the console's lines are written
        assert lines[-1].startswith(f"  .room: The help desk's operator key file {where}")
        await server.close()
        assert where.read_bytes() == content  # never replaced: operators may hold that key

    asyncio.run(scenario())


def test_text_from_the_network_reaches_the_console_cleaned(tmp_path: Path) -> None:
    """A datagram cannot clear the operator's screen, recolour it or forge a log line:
    escapes, carriage returns, newlines and bidi overrides are shown replaced."""
    evil = "\x1b[41m\x1b[2J\r\nforged 12:00:00 registered mallory\u202e\x85\u2028"

    async def scenario() -> None:
        console = Console()
        server, addr = await _serve(tmp_path, console)
        with _peer(server) as sock:
            for message in (
                Refused("z-1", "nothing-here", evil),
                Deregister("z-2", "EVIL" + evil, "", False, ""),
                Keepalive("z-3", "bob" + evil, "x"),
            ):
                sock.send(message, addr)
            await _register(sock, "after", addr)  # answered after the three
            await console.line("registered after")
        await server.close()
        logged = [event for event in console.events if not event.startswith("sent")]
        assert any("forged" in line for line in logged), logged
        for line in logged:
            assert line.isprintable(), repr(line)

    asyncio.run(scenario())


def test_the_console_operator_reads_a_join_logged_before_serving_it(tmp_path: Path) -> None:
    """The desk's lines on the console come under the log lines of what led to them: a
    person's join, then `[Now serving ...]` (log lines wait for the end of the pass, and
    the desk's lines were printed at once, above the join)."""

    async def scenario() -> None:
        console = Console()
        server = RegistryServer(
            data_dir=tmp_path,
            listen=("127.0.0.1", 0),
            out=console.add,
            settings=RegistrySettings(console_operator=True),
        )
        _, port = await server.start()
        with _peer(server) as dan:
            connection = await dan.connect(("127.0.0.1", port))
        join = DeskJoin("j-1", "Dan", "+44 7700 900123", 2, "", "", WIRE_VERSION)
        connection.send(join)
        serving = await console.line("[Now serving Dan")
        joined = await console.line("desk: Dan (phone **********23) joined for topic 2")
        served = await console.line("desk: admin serves Dan")
        assert joined < serving < served, console.events
        connection.close()
        await server.close()

    asyncio.run(scenario())
