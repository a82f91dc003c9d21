"""The desk clients' first contact with a registry that is not there
(peer/adapter/desk/start.py): a refused connection is an answer, said at once; a
registry that accepts and stays silent is asked as often as before; one of another
version of ChatApp is said to be one, and the client ends."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

import peer.adapter.key_contact
from peer.adapter.desk.start import Untrusted, desk_registry_key
from peer.adapter.key_contact import ContactRule
from secure.channel import KEY_ANSWER
from secure.stream import KEY_REQUEST_FRAME, frame
from wire.reliable import ATTEMPTS

pytestmark = pytest.mark.timeout(20)


def test_a_refused_connection_ends_first_contact_without_waiting_out_the_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests a minute apart: waiting them out would outlast the test's timeout
    monkeypatch.setattr(peer.adapter.key_contact, "TIMEOUT", 60.0)
    with socket.socket() as bound:  # bound, not listening: its port refuses connections
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        assert asyncio.run(desk_registry_key(tmp_path, "127.0.0.1", port, ContactRule())) is None


def test_a_silent_registry_is_asked_every_time_before_it_is_given_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(peer.adapter.key_contact, "TIMEOUT", 0.2)
    accepted: list[asyncio.StreamWriter] = []

    async def go() -> bytes | None:
        async def silent(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append(writer)  # accepted, never answered

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            key = await desk_registry_key(tmp_path, "127.0.0.1", port, ContactRule())
            for writer in accepted:
                writer.close()
            return key

    assert asyncio.run(go()) is None
    assert len(accepted) == ATTEMPTS


@pytest.mark.parametrize("protocol", [b"", b"Noise_IK_448_AESGCM_SHA512"])
def test_a_registry_of_another_version_is_said_to_be_one_and_trusted_with_nothing(
    tmp_path: Path, protocol: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    # an older ChatApp answers with its key alone; another names its own secure channel
    async def go() -> int:
        async def other(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readexactly(len(frame(KEY_REQUEST_FRAME)))
            writer.write(frame(bytes([KEY_ANSWER]) + bytes(32) + protocol))
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(other, "127.0.0.1", 0)
        port: int = server.sockets[0].getsockname()[1]
        async with server:
            with pytest.raises(Untrusted):
                await desk_registry_key(tmp_path, "127.0.0.1", port, ContactRule())
        return port

    port = asyncio.run(go())
    assert capsys.readouterr().out.splitlines() == [
        f">>> [ChatApp versions differ: the registry at 127.0.0.1:{port} speaks another secure "
        "channel. Use the same version of ChatApp on every machine.]"
    ]
