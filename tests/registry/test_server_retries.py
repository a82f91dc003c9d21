"""The registry's adapter keeps its core's timer armed over real loopback: a push made while
handling datagrams is retried on time (the timer is re-armed once per drain of the socket,
not after every datagram), and what a retry sends leaves packed."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from secure_peer import SecurePeer

from registry.adapter.server import RegistryServer
from registry.core.table import Record
from wire.codec import encode
from wire.keys import key_text
from wire.messages import ChannelMessage, ChannelPost
from wire.reliable import TIMEOUT

pytestmark = pytest.mark.timeout(10)

Addr = tuple[str, int]


@contextlib.asynccontextmanager
async def ann_and_bob(tmp_path: Path) -> AsyncIterator[tuple[SecurePeer, SecurePeer, Addr]]:
    """A registry started with ann and bob online: (ann, bob, the registry's address)."""
    server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=lambda _: None)
    key = server.endpoint.channel.public
    sender, member = SecurePeer(key), SecurePeer(key)
    for name, peer in (("ann", sender), ("bob", member)):
        record = Record(name, "127.0.0.1", peer.address[1], True, "t" * 32)
        record.key = key_text(peer.channel.public)
        server.core.table.records[name] = record
    address = await server.start()
    await sender.take_news(address)
    try:
        yield sender, member, address
    finally:
        for peer in (sender, member):
            peer.sock.close()
        await server.close()


def test_a_relay_to_a_silent_member_is_sent_again_after_the_retry_timeout(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with ann_and_bob(tmp_path) as (sender, member, registry):
            post = ChannelPost("ann-1", "ann", "t" * 32, "hello all")
            sender.send(post, registry)
            await sender.receive()  # the handshake's answer on the way, then the post's ack
            copies: list[float] = []
            while len(copies) < 2:  # bob never acks: the first copy, then its retry
                messages = await member.receive()
                if any(isinstance(m, ChannelMessage) for m in messages):
                    copies.append(time.monotonic())
            # on time (TIMEOUT after the first, give or take a busy machine), not at the
            # core's next sweep, a keepalive period (10 s) away
            assert TIMEOUT / 2 < copies[1] - copies[0] < 5.0

    asyncio.run(scenario())


def test_a_retry_of_lines_relayed_together_comes_in_one_datagram(tmp_path: Path) -> None:
    """What a wake-up sends again leaves packed, as what a drain sends does: the member
    that missed three lines relayed in one datagram gets them again in one datagram (and
    acks them once), not the first alone and the rest after it."""

    async def scenario() -> None:
        async with ann_and_bob(tmp_path) as (sender, member, registry):
            posts = [ChannelPost(f"ann-{i}", "ann", "t" * 32, f"line {i}") for i in range(3)]
            sender.send(b"[" + b",".join(encode(post) for post in posts) + b"]", registry)
            await sender.receive()  # the handshake's answer on the way, then the posts' acks
            copies: list[list[str]] = []
            while len(copies) < 2:  # bob never acks: the first copy, then its retry
                messages = await member.receive()
                lines = [m.text for m in messages if isinstance(m, ChannelMessage)]
                if lines:
                    copies.append(lines)
            assert copies == [["line 0", "line 1", "line 2"]] * 2

    asyncio.run(scenario())
