"""Registration through the registry's adapter over real loopback: a registration read from a
datagram into a big table is welcomed in a datagram without the table, which is asked for
and comes over TCP; one read from a TCP connection is answered on it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from secure_peer import SecurePeer

from registry.adapter.server import RegistryServer
from registry.core import table_feed
from registry.core.table import Record
from wire.messages import Register, TableRequest, TableSnapshot, TooBig, Welcome
from wire.version import WIRE_VERSION

pytestmark = pytest.mark.timeout(10)


def test_a_big_tables_registration_is_welcomed_by_datagram_and_the_table_comes_by_tcp(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=lambda _: None)
        rows = table_feed.WELCOME_ROWS + 1
        for i in range(rows):
            record = Record(f"p{i}", "10.0.0.1", 7000 + i, False, f"{i:032x}")
            server.core.table.records[f"p{i}"] = record
        host, port = await server.start()
        udp = SecurePeer(server.endpoint.channel.public)
        ask = Register("n-1", "newcomer", udp.address[1], "", "", WIRE_VERSION)
        try:
            udp.send(ask, (host, port))
            welcome = [m for m in await udp.receive() if isinstance(m, Welcome)]
            while not welcome:  # (the newcomer's own row may be pushed first)
                welcome = [m for m in await udp.receive() if isinstance(m, Welcome)]
            assert welcome[0].entries == () and server.core.table.get("newcomer") is not None
            udp.send(TableRequest("n-2"), (host, port))
            while not [m for m in await udp.receive() if isinstance(m, TooBig)]:
                pass
            # asked again over TCP, as a peer does after a TooBig: answered there
            connection = await udp.connect((host, port))
            connection.send(TableRequest("n-2"))
            snapshot: list[TableSnapshot] = []
            while not snapshot:
                got = await connection.receive()
                assert got, "the registry closed the connection before the table"
                snapshot = [m for m in got if isinstance(m, TableSnapshot)]
            assert len(snapshot[0].entries) == rows + 1
            connection.close()
        finally:
            udp.sock.close()
            await server.close()

    asyncio.run(scenario())
