"""Registration through the registry's adapter over real loopback: a registration read from a
datagram is told to come over TCP when its Welcome cannot fit one, and is carried out only
there; one read from a TCP connection is answered on it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from secure_peer import SecurePeer

from registry.adapter.server import RegistryServer
from registry.core import pacing
from registry.core.table import Record
from wire.messages import Register, TooBig, Welcome
from wire.version import WIRE_VERSION

pytestmark = pytest.mark.timeout(10)


def test_a_big_tables_registration_is_carried_out_over_tcp_only(tmp_path: Path) -> None:
    async def scenario() -> None:
        server = RegistryServer(data_dir=tmp_path, bind="127.0.0.1", port=0, out=lambda _: None)
        rows = pacing.WELCOME_ROWS + 1
        for i in range(rows):
            record = Record(f"p{i}", "10.0.0.1", 7000 + i, False, f"{i:032x}")
            server.core.table.records[f"p{i}"] = record
        host, port = await server.start()
        udp = SecurePeer(server.endpoint.channel.public)
        ask = Register("n-1", "newcomer", udp.address[1], "", "", WIRE_VERSION)
        try:
            udp.send(ask, (host, port))
            [answer] = await udp.receive()
            assert isinstance(answer, TooBig) and answer.reply_to == "n-1"
            assert server.core.table.get("newcomer") is None  # nothing done yet
            # asked again over TCP, as a peer does after a TooBig: registered, and answered
            connection = await udp.connect((host, port))
            connection.send(ask)
            welcome: list[Welcome] = []
            while not welcome:
                got = await connection.receive()
                assert got, "the registry closed the connection before its Welcome"
                welcome = [m for m in got if isinstance(m, Welcome)]
            assert len(welcome[0].entries) == rows + 1
            assert server.core.table.get("newcomer") is not None
            connection.close()
        finally:
            udp.sock.close()
            await server.close()

    asyncio.run(scenario())
