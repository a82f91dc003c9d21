"""Registration through the registry's adapter over real loopback: a registration read from a
datagram is told to come over TCP when its Welcome cannot fit one, and is carried out only
there; one read from a TCP connection is answered on it."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from registry import core as registry_core
from registry.server import RegistryServer
from registry.table import Record
from wire.codec import decode_datagram, encode
from wire.framing import StreamDecoder, encode_frame
from wire.messages import Register, TooBig, Welcome
from wire.version import WIRE_VERSION

pytestmark = pytest.mark.timeout(10)


def test_a_big_tables_registration_is_carried_out_over_tcp_only(tmp_path: Path) -> None:
    async def scenario() -> None:
        server = RegistryServer(data_dir=tmp_path, bind="127.0.0.1", port=0, out=lambda _: None)
        rows = registry_core._WELCOME_ROWS + 1
        for i in range(rows):
            record = Record(f"p{i}", "10.0.0.1", 7000 + i, False, f"{i:032x}")
            server.core.table.records[f"p{i}"] = record
        host, port = await server.start()
        loop = asyncio.get_running_loop()
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((host, 0))
        udp.setblocking(False)
        ask = Register("n-1", "newcomer", udp.getsockname()[1], "", "", WIRE_VERSION)
        try:
            await loop.sock_sendto(udp, encode(ask), (host, port))
            data = await asyncio.wait_for(loop.sock_recv(udp, 65536), 5)
            answer = decode_datagram(data)
            assert isinstance(answer, TooBig) and answer.reply_to == "n-1"
            assert server.core.table.get("newcomer") is None  # nothing done yet
            # asked again over TCP, as a peer does after a TooBig: registered, and answered
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(encode_frame(ask))
            decoder = StreamDecoder()
            welcome: list[Welcome] = []
            while not welcome:
                chunk = await asyncio.wait_for(reader.read(65536), 5)
                assert chunk, "the registry closed the connection before its Welcome"
                welcome = [m for m in decoder.feed(chunk) if isinstance(m, Welcome)]
            assert len(welcome[0].entries) == rows + 1
            assert server.core.table.get("newcomer") is not None
            writer.close()
        finally:
            udp.close()
            await server.close()

    asyncio.run(scenario())
