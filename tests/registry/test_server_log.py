"""The registry's console log: a line about a request is written after the answers it
caused have left, and lines keep their order."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from registry.server import RegistryServer
from wire.codec import decode_datagram_batch, encode
from wire.messages import ChannelPost, Register, Welcome

pytestmark = pytest.mark.timeout(20)


async def _serve(tmp_path: Path, events: list[str]) -> tuple[RegistryServer, tuple[str, int]]:
    server = RegistryServer(
        data_dir=tmp_path, bind="127.0.0.1", port=0, out=lambda line: events.append(line)
    )
    addr = await server.start()
    endpoint = server.endpoint
    real_sendto, real_sendto_all = endpoint._sendto, endpoint._sendto_all

    def sendto(data: bytes, to: tuple[str, int]) -> None:
        events.append("sent")
        real_sendto(data, to)

    def sendto_all(data: bytes, to: list[tuple[str, int]]) -> None:
        events.append("sent")
        real_sendto_all(data, to)

    endpoint._sendto = sendto  # type: ignore[method-assign]
    endpoint._sendto_all = sendto_all  # type: ignore[method-assign]
    events.clear()  # the banner
    return server, addr


async def _answer(sock: socket.socket) -> list[object]:
    loop = asyncio.get_running_loop()
    data = await asyncio.wait_for(loop.sock_recv(sock, 65536), 5.0)
    return list(decode_datagram_batch(data))


def _peer() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def test_a_registration_is_logged_after_its_welcome_left(tmp_path: Path) -> None:
    events: list[str] = []

    async def scenario() -> None:
        server, addr = await _serve(tmp_path, events)
        with _peer() as sock:
            port = sock.getsockname()[1]
            sock.sendto(encode(Register("a-1", "alice", port, "", "")), addr)
            while not any(isinstance(m, Welcome) for m in await _answer(sock)):
                pass
            await asyncio.sleep(0)  # the end of the registry's pass
            logged = [i for i, e in enumerate(events) if "registered alice" in e]
            assert logged, events
            assert events.index("sent") < logged[0]
        await server.close()

    asyncio.run(scenario())


def test_a_channel_message_is_logged_after_its_relay_left(tmp_path: Path) -> None:
    events: list[str] = []

    async def scenario() -> None:
        server, addr = await _serve(tmp_path, events)
        with _peer() as alice, _peer() as bob:
            tokens = {}
            for i, (name, sock) in enumerate((("alice", alice), ("bob", bob))):
                port = sock.getsockname()[1]
                sock.sendto(encode(Register(f"r-{i}", name, port, "", "")), addr)
                while not tokens.get(name):
                    for message in await _answer(sock):
                        if isinstance(message, Welcome):
                            tokens[name] = message.token
            await asyncio.sleep(0.05)  # the table updates of the registrations are logged
            events.clear()
            alice.sendto(encode(ChannelPost("p-1", "alice", tokens["alice"], "hi all")), addr)
            while not any("relayed" in e for e in events):
                await asyncio.sleep(0.001)
            logged = next(i for i, e in enumerate(events) if "relayed" in e)
            assert "sent" in events[:logged], events
        await server.close()

    asyncio.run(scenario())


def test_log_lines_keep_their_order_and_are_written_by_close(tmp_path: Path) -> None:
    lines: list[str] = []

    async def scenario() -> None:
        server = RegistryServer(
            data_dir=tmp_path, bind="127.0.0.1", port=0, out=lambda line: lines.append(line)
        )
        server.log("first")
        server.log("second")
        assert lines == []  # written at the end of the pass
        await asyncio.sleep(0)
        assert [line.split(" ", 1)[1] for line in lines] == ["first", "second"]
        server.log("third")
        await server.close()
        assert lines[-1].endswith(" third")

    asyncio.run(scenario())
