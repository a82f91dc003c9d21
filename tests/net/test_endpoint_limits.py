"""What an endpoint's connections may make it hold, and how long, over real loopback
sockets: the process's budget for messages not yet whole, a deadline for a whole message
however many records it comes in, and one log line per kind of rejection."""

from __future__ import annotations

import asyncio

import pytest
from clear_channel import clear_endpoint, handshaken

from net import served_stream
from net.endpoint import Endpoint
from secure.stream import BufferBudget
from wire.limits import FRAME_HEADER
from wire.messages import Chat

pytestmark = pytest.mark.timeout(10)

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def listening(logs: list[str]) -> tuple[Endpoint, int]:
    endpoint = clear_endpoint(lambda message, addr: None, session="s", log=logs.append)
    return endpoint, (await endpoint.open("127.0.0.1", 0))[1]


async def part_of_a_message(port: int, size: int) -> Streams:
    """A connection that sends every record of a message of `size` + 1 bytes but its last."""
    streams = await asyncio.open_connection("127.0.0.1", port)
    session = await handshaken(*streams)
    session.send(Chat("c-1", "a", "b", "x" * size))
    records = session.output()
    streams[1].write(records[: _last_record_start(records)])
    await streams[1].drain()
    return streams


def _last_record_start(records: bytes) -> int:
    """Where the last frame of `records` begins."""
    start = 0
    while True:
        length = int.from_bytes(records[start : start + FRAME_HEADER], "big")
        end = start + FRAME_HEADER + length
        if end >= len(records):
            return start
        start = end


async def closed_by_the_other_end(reader: asyncio.StreamReader, within: float = 2.0) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), within) == b""
    except TimeoutError:
        return False


def test_over_the_budget_the_connection_holding_most_is_closed() -> None:
    async def main() -> None:
        logs: list[str] = []
        endpoint, port = await listening(logs)
        endpoint.buffers = BufferBudget(250_000)  # held: a record of small, two of large
        small = await part_of_a_message(port, 100_000)
        large = await part_of_a_message(port, 150_000)
        assert not await closed_by_the_other_end(small[0], 0.3)
        third = await part_of_a_message(port, 120_000)  # a record more: over
        assert await closed_by_the_other_end(large[0])
        assert not await closed_by_the_other_end(small[0], 0.3)
        assert not await closed_by_the_other_end(third[0], 0.1)
        assert endpoint.buffers.dropped == 1
        assert any("closed the TCP connection holding most" in line for line in logs)
        for _, writer in (small, large, third):
            writer.close()
        await endpoint.close()

    asyncio.run(main())


def test_a_message_must_be_whole_within_the_deadline_whatever_its_records(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # each record came whole, and the connection was taken to be between messages: a
    # sender of one record a minute held what it had sent for ever
    monkeypatch.setattr(served_stream, "FRAME_DEADLINE", 0.5)

    async def main() -> None:
        logs: list[str] = []
        endpoint, port = await listening(logs)
        partial = await part_of_a_message(port, 100_000)
        assert await closed_by_the_other_end(partial[0])
        assert endpoint.slow_frames == 1 and endpoint.buffers.total == 0
        partial[1].close()
        await endpoint.close()

    asyncio.run(main())


def test_many_bad_connections_make_one_line_and_a_count() -> None:
    async def main() -> None:
        logs: list[str] = []
        endpoint, port = await listening(logs)
        for _ in range(50):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write((96).to_bytes(FRAME_HEADER, "big") + bytes(96))  # no handshake
            assert await closed_by_the_other_end(reader)
            writer.close()
        assert endpoint.bad_frames == 50
        assert len(logs) == 1 and "the secure handshake failed" in logs[0]
        await endpoint.close()  # what was held back is told
        assert len(logs) == 2 and "[and 48 more like it" in logs[1]

    asyncio.run(main())
