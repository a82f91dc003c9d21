"""The desk clients' first contact with a registry that is not there
(peer/adapter/desk/start.py): a refused connection is an answer, said at once; a
registry that accepts and stays silent is asked as often as before."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

import peer.adapter.key_contact
from peer.adapter.desk.start import desk_registry_key
from peer.adapter.key_contact import ContactRule
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
