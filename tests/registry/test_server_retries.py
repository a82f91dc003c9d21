"""The registry's adapter keeps its core's timer armed over real loopback: a push made while
handling datagrams is retried on time (the timer is re-armed once per drain of the socket,
not after every datagram)."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest

from registry.server import RegistryServer
from registry.table import Record
from wire.codec import decode_datagram_batch, encode
from wire.messages import ChannelMessage, ChannelPost
from wire.reliable import TIMEOUT

pytestmark = pytest.mark.timeout(10)


def test_a_relay_to_a_silent_member_is_sent_again_after_the_retry_timeout(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        socks = []
        for _ in range(2):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
            socks.append(sock)
        sender, member = socks
        server = RegistryServer(data_dir=tmp_path, bind="127.0.0.1", port=0, out=lambda _: None)
        for name, sock in (("ann", sender), ("bob", member)):
            port = sock.getsockname()[1]
            server.core.table.records[name] = Record(name, "127.0.0.1", port, True, "t" * 32)
        host, port = await server.start()
        try:
            post = ChannelPost("ann-1", "ann", "t" * 32, "hello all")
            await loop.sock_sendto(sender, encode(post), (host, port))
            copies: list[float] = []
            while len(copies) < 2:  # bob never acks: the first copy, then its retry
                data = await asyncio.wait_for(loop.sock_recv(member, 65536), 5)
                if any(isinstance(m, ChannelMessage) for m in decode_datagram_batch(data)):
                    copies.append(time.monotonic())
            # on time (TIMEOUT after the first, give or take a busy machine), not at the
            # core's next sweep, a keepalive period (10 s) away
            assert TIMEOUT / 2 < copies[1] - copies[0] < 5.0
        finally:
            for sock in socks:
                sock.close()
            await server.close()

    asyncio.run(scenario())
