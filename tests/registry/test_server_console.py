"""The registry console over a real registry: its commands, and how they reach the registry
while the console serves someone at the help desk."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from registry.adapter.server import RegistryServer
from secure.channel import INITIATION
from tests.desk.test_desk_service import Client, join
from wire.desk.messages import DeskLine, DeskServed

pytestmark = pytest.mark.timeout(10)


def test_registry_commands_with_a_slash_reach_the_registry_while_serving(
    tmp_path: Path,
) -> None:
    printed: list[str] = []

    async def scenario() -> None:
        server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=printed.append)
        host, port = await server.start()
        server.desk.console.set_output(printed.append)
        reader, writer = await asyncio.open_connection(host, port)
        alice = Client(reader, writer, key=server.endpoint.channel.public)
        alice.send(join("Alice"))
        await alice.next(DeskServed)
        # a line that is only a registry command is held back; typed again, it goes as text
        server.console.line("who\n")
        assert "Not sent: who is a registry command, and /who runs it" in printed[-1]
        server.console.line("who\n")
        assert (await alice.next(DeskLine)).text == "who"  # type: ignore[attr-defined]
        server.console.line("who is there?\n")  # more than the command: text, as any line
        assert (await alice.next(DeskLine)).text == "who is there?"  # type: ignore[attr-defined]
        # with a slash it is the registry's
        server.console.line("/who\n")
        assert printed[-1] == "  no names registered yet"
        server.console.line("/stats\n")
        assert printed[-3].startswith("  bad datagrams 0")
        assert printed[-2] == (
            "  datagrams that did not open 0, connections over the memory budget 0, "
            "registrations asked to wait 0"
        )
        assert printed[-1].startswith("  refusals and failed checks 0, of 0 kinds")
        server.console.line("/etc/hosts is where that lives\n")  # not a command: for Alice
        line = await alice.next(DeskLine)
        assert line.text == "/etc/hosts is where that lives"  # type: ignore[attr-defined]
        server.console.line("/QUIT\n")
        await asyncio.wait_for(server.run(), 2)
        writer.close()
        await server.close()

    asyncio.run(scenario())


def test_outside_a_session_both_spellings_work(tmp_path: Path) -> None:
    printed: list[str] = []

    async def scenario() -> None:
        server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=printed.append)
        await server.start()
        server.console.line("rooms\n")
        assert printed[-1] == "  no rooms"
        server.console.line("/rooms\n")
        assert printed[-1] == "  no rooms"
        server.console.line("help\n")
        assert any("/who, /rooms" in line for line in printed)
        await server.close()

    asyncio.run(scenario())


def test_release_without_a_name_gives_its_usage(tmp_path: Path) -> None:
    printed: list[str] = []

    async def scenario() -> None:
        server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=printed.append)
        await server.start()
        for typed in ("release\n", "/release\n", "release a b\n"):
            server.console.line(typed)
            assert printed[-1].startswith("  usage: release <name>"), printed[-1]
        await server.close()

    asyncio.run(scenario())


def test_a_command_that_takes_nothing_says_so_when_given_more(tmp_path: Path) -> None:
    printed: list[str] = []

    async def scenario() -> None:
        server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=printed.append)
        await server.start()
        for typed in ("who alice", "/rooms all", "stats now", "HELP me"):
            server.console.line(typed + "\n")
            word = typed.lstrip("/").split()[0].lower()
            assert printed[-1] == f"  usage: {word}   (it takes nothing more)", printed[-1]
        await server.close()

    asyncio.run(scenario())


def test_stats_say_why_datagrams_did_not_open(tmp_path: Path) -> None:
    printed: list[str] = []

    async def scenario() -> None:
        server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=printed.append)
        address = await server.start()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as junk:
            for datagram in (b"\x09junk", b"\x09more", bytes([INITIATION]) + b"short"):
                junk.sendto(datagram, address)
            while server.endpoint.channel.dropped.total() < 3:  # read on the loop
                await asyncio.sleep(0.01)
        server.console.line("stats\n")
        assert printed[-1] == "  not opened: unknown kind 2, malformed handshake 1"
        await server.close()

    asyncio.run(scenario())
