"""The TCP listener over real loopback sockets: connections within the limit are served, one
over it is closed at once, and an idle one makes room for a newcomer."""

from __future__ import annotations

import asyncio

import pytest

from peer.endpoint import Endpoint
from peer.stream_slots import EVICT_IDLE
from wire.framing import StreamDecoder, encode_frame
from wire.messages import Message, Notice, TableRequest, TableSnapshot

pytestmark = pytest.mark.timeout(10)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def ask(port: int, message: Message) -> list[Message]:
    """Send `message` in a frame on a new connection; the frames that come back until the
    connection closes or a second passes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(encode_frame(message))
    decoder = StreamDecoder(1 << 20)
    got: list[Message] = []
    try:
        while not got:
            data = await asyncio.wait_for(reader.read(65536), 1.0)
            if not data:
                break
            got += decoder.feed(data)
    finally:
        writer.close()
    return got


async def closed_by_the_other_end(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), 1.0) == b""
    except TimeoutError:
        return False


def test_connections_over_the_limit_are_turned_away_and_idle_ones_make_room() -> None:
    async def main() -> None:
        logs: list[str] = []
        endpoint: Endpoint

        def on_message(message: Message, addr: tuple[str, int]) -> None:
            if isinstance(message, TableRequest):
                endpoint.send(addr, TableSnapshot("s-1", message.id, 1, ()))

        endpoint = Endpoint(on_message, session="s", log=logs.append)
        port = (await endpoint.open("127.0.0.1", 0))[1]
        clock = Clock()
        slots = endpoint._listener.slots
        slots.limit, slots._clock = 3, clock
        idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        while len(slots) < 3:
            await asyncio.sleep(0.01)  # accepted in the listener's own time
        # a fourth, with every other one recently heard from: closed at once, said once
        over_reader, over_writer = await asyncio.open_connection("127.0.0.1", port)
        assert await closed_by_the_other_end(over_reader)
        over_writer.close()
        assert slots.turned_away == 1
        assert any("turned away TCP connection #1" in line for line in logs)
        # once the first has been silent long enough, a newcomer takes its place and is served
        clock.now += EVICT_IDLE
        [answer] = await ask(port, TableRequest("q-1"))
        assert isinstance(answer, TableSnapshot) and answer.reply_to == "q-1"
        assert await closed_by_the_other_end(idle[0][0])
        assert slots.evicted == 1
        assert any("closed an idle TCP connection" in line for line in logs)
        for _, writer in idle:
            writer.close()
        await endpoint.close()

    asyncio.run(main())


def test_a_connection_that_keeps_talking_is_not_the_one_closed() -> None:
    async def main() -> None:
        heard = asyncio.Event()
        endpoint = Endpoint(lambda m, a: heard.set(), session="s")
        port = (await endpoint.open("127.0.0.1", 0))[1]
        clock = Clock()
        slots = endpoint._listener.slots
        slots.limit, slots._clock = 2, clock
        talker = await asyncio.open_connection("127.0.0.1", port)
        while len(slots) < 1:
            await asyncio.sleep(0.01)
        quiet = await asyncio.open_connection("127.0.0.1", port)
        while len(slots) < 2:
            await asyncio.sleep(0.01)
        clock.now += EVICT_IDLE
        talker[1].write(encode_frame(Notice("n-1", "still here")))
        await asyncio.wait_for(heard.wait(), 2.0)
        newcomer = await asyncio.open_connection("127.0.0.1", port)
        assert await closed_by_the_other_end(quiet[0])
        assert not await closed_by_the_other_end(talker[0])
        for _, writer in (talker, quiet, newcomer):
            writer.close()
        await endpoint.close()

    asyncio.run(main())
