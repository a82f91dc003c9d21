"""A registry closing takes nothing more in: what it decided settles, and what comes
meanwhile is left to whoever serves next (docs/ARCHITECTURE.md). Over real loopback, with the
closing registry's last commit held open."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from secure_peer import SecurePeer

from registry.adapter.server import RegistryServer
from registry.core.table import Record
from wire.keys import key_text
from wire.messages import ChannelPost, Message
from wire.reliable import TIMEOUT

pytestmark = pytest.mark.timeout(20)


async def answered(peer: SecurePeer, request: Message, within: float) -> bool:
    """Whether something answering `request` reaches `peer` within `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while (left := deadline - loop.time()) > 0:
        try:
            messages = await peer.receive(timeout=left)
        except TimeoutError:
            return False
        if any(getattr(m, "reply_to", "") == request.id for m in messages):
            return True
    return False


@pytest.mark.needs_pure  # replaces the group commit's settle
def test_a_registry_closing_answers_nothing_that_comes_while_it_settles(tmp_path: Path) -> None:
    async def scenario() -> None:
        server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=lambda _: None)
        ann = SecurePeer(server.endpoint.channel.public)
        record = Record("ann", "127.0.0.1", ann.address[1], True, "t" * 32)
        record.key = key_text(ann.channel.public)
        server.core.table.records["ann"] = record
        addr = await server.start()
        await ann.take_news(addr)
        before = ChannelPost("ann-1", "ann", "t" * 32, "before")
        ann.send(before, addr)
        assert await answered(ann, before, 5.0)
        settle, release = server.commits.settle, asyncio.Event()

        async def held() -> None:  # the closing registry's last commit takes its time
            await release.wait()
            await settle()

        server.commits.settle = held  # type: ignore[method-assign]
        closing = asyncio.create_task(server.close())
        await asyncio.sleep(0)  # the close has begun
        try:
            during = ChannelPost("ann-2", "ann", "t" * 32, "during")
            ann.send(during, addr)
            assert not await answered(ann, during, 3 * TIMEOUT)
        finally:
            release.set()
            await closing
            ann.sock.close()

    asyncio.run(scenario())
