"""The registry's TCP connections over real loopback: a help-desk session, past its first
message, still has a deadline for each frame it begins (idle between frames it may be)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from net import served_stream
from registry.adapter.server import RegistryServer
from tests.desk.test_desk_service import Client, join
from wire.desk.messages import DeskLine, DeskLook, DeskNotice, DeskPosition, DeskQueued

pytestmark = pytest.mark.timeout(10)


async def trickle(writer: asyncio.StreamWriter, data: bytes, every: float) -> None:
    """Send `data` a byte at a time, `every` seconds apart (a slowloris sender)."""
    for byte in data:
        writer.write(bytes([byte]))
        await asyncio.sleep(every)


def test_a_desk_frame_that_trickles_in_after_the_first_message_is_cut_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(served_stream, "FRAME_DEADLINE", 0.5)
    printed: list[str] = []

    async def scenario() -> None:
        server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=printed.append)
        host, port = await server.start()
        key = server.endpoint.channel.public
        waiting = Client(*await asyncio.open_connection(host, port), key=key)
        waiting.send(join("Alice"))
        await waiting.next(DeskQueued)
        slow = Client(*await asyncio.open_connection(host, port), key=key)
        slow.send(join("Bob", "+1 202 555 0147"))
        await slow.next(DeskQueued)
        # a line of a few hundred bytes, a byte every 50 ms: never whole in time
        slow.decoder.send(DeskLine("l-1", "", "x" * 200, ""))
        frame = slow.decoder.output()
        sending = asyncio.ensure_future(trickle(slow.writer, frame, 0.05))
        notice = await slow.next(DeskNotice, timeout=5)
        assert "no whole frame within 0.5 s" in notice.text  # type: ignore[attr-defined]
        assert await slow.closed()
        sending.cancel()
        # silent between frames all along, as waiting is: still served
        waiting.send(DeskLook("q-1"))
        await waiting.next(DeskPosition)
        waiting.writer.close()
        await server.close()

    asyncio.run(scenario())
    assert any("no whole frame within 0.5 s" in line for line in printed), printed
