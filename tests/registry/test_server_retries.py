"""The registry's adapter keeps its core's timer armed over real loopback: a push made while
handling datagrams is retried on time (the timer is re-armed once per drain of the socket,
not after every datagram)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from secure_peer import SecurePeer

from registry.adapter.server import RegistryServer
from registry.core.table import Record
from wire.keys import key_text
from wire.messages import ChannelMessage, ChannelPost
from wire.reliable import TIMEOUT

pytestmark = pytest.mark.timeout(10)


def test_a_relay_to_a_silent_member_is_sent_again_after_the_retry_timeout(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=lambda _: None)
        key = server.endpoint.channel.public
        sender, member = SecurePeer(key), SecurePeer(key)
        for name, peer in (("ann", sender), ("bob", member)):
            record = Record(name, "127.0.0.1", peer.address[1], True, "t" * 32)
            record.key = key_text(peer.channel.public)
            server.core.table.records[name] = record
        host, port = await server.start()
        try:
            post = ChannelPost("ann-1", "ann", "t" * 32, "hello all")
            sender.send(post, (host, port))
            await sender.receive()  # the handshake's answer on the way, then the post's ack
            copies: list[float] = []
            while len(copies) < 2:  # bob never acks: the first copy, then its retry
                messages = await member.receive()
                if any(isinstance(m, ChannelMessage) for m in messages):
                    copies.append(time.monotonic())
            # on time (TIMEOUT after the first, give or take a busy machine), not at the
            # core's next sweep, a keepalive period (10 s) away
            assert TIMEOUT / 2 < copies[1] - copies[0] < 5.0
        finally:
            for peer in (sender, member):
                peer.sock.close()
            await server.close()

    asyncio.run(scenario())
