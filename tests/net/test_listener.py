"""The TCP listener over real loopback sockets: connections within the limit are served, one
over it is closed at once, and an idle one makes room for a newcomer."""

from __future__ import annotations

import asyncio
import errno
import select
import socket
import time
from pathlib import Path

import pytest
from clear_channel import PUBLIC, Clock, clear_endpoint, handshaken, session_of

from net import listener as listener_module
from net import served_stream
from net.endpoint import Endpoint
from net.listener import EVICT_IDLE, Listener, has_hung_up, raise_open_file_limit
from secure.stream import frame
from wire.codec import encode
from wire.messages import Message, TableRequest, TableSnapshot

pytestmark = pytest.mark.timeout(10)

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def answering_endpoint(
    limit: int, logs: list[str] | None = None
) -> tuple[Endpoint, int, Clock]:
    """An endpoint that answers a TableRequest, with room for `limit` accepted connections
    and a clock of our own for how long they have been silent."""
    endpoint: Endpoint

    def on_message(message: Message, addr: tuple[str, int]) -> None:
        if isinstance(message, TableRequest):
            endpoint.send(addr, TableSnapshot("s-1", message.id, 1, (), ()), PUBLIC)

    log = (logs if logs is not None else []).append
    clock = Clock()
    endpoint = clear_endpoint(on_message, session="s", log=log, clock=clock)
    port = (await endpoint.open("127.0.0.1", 0))[1]
    endpoint.listener.slots.limit = limit
    return endpoint, port, clock


async def served(port: int, request_id: str) -> Streams:
    """A connection that has been accepted and answered once, and is then left open (its
    answer proves the listener has taken it in)."""
    streams = await asyncio.open_connection("127.0.0.1", port)
    await ask_on(streams, request_id)
    return streams


async def ask_on(streams: Streams, request_id: str) -> None:
    """A TableRequest on an open connection, and its answer."""
    reader, writer = streams
    decoder = session_of(writer)
    decoder.send(TableRequest(request_id))
    writer.write(decoder.output())
    got: list[Message] = []
    while not got:
        data = await asyncio.wait_for(reader.read(65536), 2.0)
        assert data, f"{request_id}: closed before its answer"
        got += decoder.feed(data)
        writer.write(decoder.output())  # the request, once the handshake is over
    assert isinstance(got[0], TableSnapshot) and got[0].reply_to == request_id


async def closed_by_the_other_end(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), 1.0) == b""
    except TimeoutError:
        return False


def test_at_the_limit_a_newcomer_takes_the_place_of_one_waiting_for_nothing() -> None:
    async def main() -> None:
        logs: list[str] = []
        endpoint, port, _ = await answering_endpoint(3, logs)
        slots = endpoint.listener.slots
        answered = [await served(port, f"q-{i}") for i in range(3)]
        # a fourth: each of the others was answered and waits for nothing, so the one
        # silent longest makes room, however recently it was heard from
        newcomer = await served(port, "q-new")
        assert await closed_by_the_other_end(answered[0][0])
        assert slots.evicted == 1 and slots.turned_away == 0
        assert any("closed the least useful TCP connection" in line for line in logs)
        await ask_on(answered[1], "q-1-again")
        for _, writer in (*answered, newcomer):
            writer.close()
        await endpoint.close()

    asyncio.run(main())


def test_a_connection_that_keeps_talking_is_not_the_one_closed() -> None:
    async def main() -> None:
        endpoint, port, clock = await answering_endpoint(2)
        talker = await served(port, "t-1")
        quiet = await served(port, "q-1")
        clock.now += EVICT_IDLE
        await ask_on(talker, "t-2")  # heard from again: the other is now silent longest
        newcomer = await served(port, "n-1")
        assert await closed_by_the_other_end(quiet[0])
        await ask_on(talker, "t-3")  # still served
        for _, writer in (talker, quiet, newcomer):
            writer.close()
        await endpoint.close()

    asyncio.run(main())


class Refusing:
    """A listening socket whose accept() fails with `errors` in turn, then has nothing."""

    def __init__(self, *errors: OSError) -> None:
        self.errors = list(errors)

    def accept(self) -> None:
        if self.errors:
            raise self.errors.pop(0)
        raise BlockingIOError

    def fileno(self) -> int:
        return 99_999


def test_a_connection_reset_before_accept_does_not_pause_accepting() -> None:
    async def main() -> None:
        logs: list[str] = []
        listener = Listener(
            lambda *args: asyncio.sleep(0), lambda coro: None, lambda kind, line: logs.append(line)
        )
        listener.accept_waiting(Refusing(ConnectionAbortedError()))  # type: ignore[arg-type]
        assert not listener.paused and listener.errors == 0 and logs == []
        exhausted = Refusing(OSError(errno.EMFILE, "Too many open files"))
        listener.accept_waiting(exhausted)  # type: ignore[arg-type]
        assert listener.paused and listener.errors == 1
        assert "could not accept a TCP connection (#1): [Errno 24]" in logs[0]
        assert listener_module.PAUSE_ON_EXHAUSTION > 0

    asyncio.run(main())


async def trickle(writer: asyncio.StreamWriter, data: bytes, every: float) -> None:
    """Send `data` a byte at a time, `every` seconds apart (a slowloris sender)."""
    for byte in data:
        writer.write(bytes([byte]))
        await asyncio.sleep(every)


def test_a_frame_that_trickles_in_is_cut_off_at_its_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(served_stream, "FRAME_DEADLINE", 0.5)

    async def main() -> None:
        logs: list[str] = []
        endpoint, port, _ = await answering_endpoint(10, logs)
        honest = await served(port, "h-1")  # a whole frame, then idle: kept
        slow_reader, slow_writer = await asyncio.open_connection("127.0.0.1", port)
        # a header for a small frame, then a byte every 50 ms: never finished in time
        framed = frame(encode(TableRequest("s-1" + "x" * 200)))
        sending = asyncio.ensure_future(trickle(slow_writer, framed, 0.05))
        mute_reader, mute_writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(slow_reader.read(1), 3.0) == b""
        assert await asyncio.wait_for(mute_reader.read(1), 3.0) == b""  # never began one
        sending.cancel()
        assert endpoint.slow_frames == 2
        assert any("no whole frame within 0.5 s" in line for line in logs)
        await ask_on(honest, "h-2")  # idle between frames is not late
        for writer in (honest[1], slow_writer, mute_writer):
            writer.close()
        await endpoint.close()

    asyncio.run(main())


def test_bytes_without_a_whole_frame_do_not_keep_a_place_at_the_limit() -> None:
    async def main() -> None:
        endpoint, port, clock = await answering_endpoint(2)
        talker = await served(port, "t-1")
        clock.now += EVICT_IDLE
        slow_reader, slow_writer = await asyncio.open_connection("127.0.0.1", port)
        slow_writer.write(b"\x00\x00")  # half a header, then more bytes, never a frame
        await slow_writer.drain()
        await ask_on(talker, "t-2")  # a whole frame: in use
        slow_writer.write(b"\x01")
        await slow_writer.drain()
        clock.now += EVICT_IDLE
        await ask_on(talker, "t-3")
        newcomer = await served(port, "n-1")  # the trickler makes room, not the talker
        assert await closed_by_the_other_end(slow_reader)
        await ask_on(talker, "t-4")
        for writer in (talker[1], slow_writer, newcomer[1]):
            writer.close()
        await endpoint.close()

    asyncio.run(main())


def test_one_address_cannot_take_every_place_and_is_said_once() -> None:
    async def main() -> None:
        logs: list[str] = []
        endpoint, port, _ = await answering_endpoint(10, logs)
        slots = endpoint.listener.slots
        slots.per_address = 2
        kept = [await served(port, f"k-{i}") for i in range(2)]
        await ask_on(kept[1], "k-1-again")  # in use: k-0 is the one silent longest
        newer = [await served(port, f"n-{i}") for i in range(2)]
        assert await closed_by_the_other_end(kept[0][0])
        assert slots.evicted_address == 2
        said = [line for line in logs if "the most one address may hold" in line]
        assert said == [
            "closed the least useful TCP connection from 127.0.0.1 to make room for one more "
            "from it (#1): 2 connections open from 127.0.0.1, the most one address may hold"
        ]
        await ask_on(newer[1], "n-again")  # the newest are served on
        for _, writer in (*kept, *newer):
            writer.close()
        await endpoint.close()

    asyncio.run(main())


def test_a_connection_waiting_for_its_answer_is_not_closed_for_one_more_from_its_address() -> None:
    async def main() -> None:
        asked: asyncio.Queue[tuple[Message, tuple[str, int]]] = asyncio.Queue()
        endpoint = clear_endpoint(
            lambda m, a: asked.put_nowait((m, a)),
            session="s",
            log=[].append,
            clock=Clock(),  # one moment: the order is that of activity alone
        )
        port = (await endpoint.open("127.0.0.1", 0))[1]
        slots = endpoint.listener.slots
        slots.per_address = 2
        waiting = await asyncio.open_connection("127.0.0.1", port)
        waiting_session = await handshaken(*waiting)
        waiting_session.send(TableRequest("w-1"))
        waiting[1].write(waiting_session.output())
        _, waiting_addr = await asked.get()  # heard; its answer is not sent yet
        answered = await asyncio.open_connection("127.0.0.1", port)
        answered_session = await handshaken(*answered)
        answered_session.send(TableRequest("a-1"))
        answered[1].write(answered_session.output())
        request, addr = await asked.get()
        endpoint.send(addr, TableSnapshot("s-1", request.id, 1, (), ()), PUBLIC)
        assert answered_session.feed(await asyncio.wait_for(answered[0].read(65536), 2.0))
        # the one waiting is the longest silent, but the answered one makes room
        newcomer = await asyncio.open_connection("127.0.0.1", port)
        assert await closed_by_the_other_end(answered[0])
        endpoint.send(waiting_addr, TableSnapshot("s-2", "w-1", 1, (), ()), PUBLIC)
        [answer] = waiting_session.feed(await asyncio.wait_for(waiting[0].read(65536), 2.0))
        assert isinstance(answer, TableSnapshot) and answer.reply_to == "w-1"
        for _, writer in (waiting, answered, newcomer):
            writer.close()
        await endpoint.close()

    asyncio.run(main())


def test_a_connection_whose_client_has_hung_up_is_told_from_one_still_there() -> None:
    async def main() -> None:
        accepted: asyncio.Queue[Streams] = asyncio.Queue()

        async def on_accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.put_nowait((reader, writer))

        server = await asyncio.start_server(on_accept, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        there = await asyncio.open_connection("127.0.0.1", port)
        there[1].write(b"hello")
        gone = await asyncio.open_connection("127.0.0.1", port)
        gone[1].write(b"hello")
        await gone[1].drain()
        gone[1].close()
        await gone[1].wait_closed()
        served_there, served_gone = await accepted.get(), await accepted.get()
        assert await served_there[0].readexactly(5) == b"hello"
        assert await served_gone[0].readexactly(5) == b"hello"
        assert not has_hung_up(*served_there)
        # told by the kernel's queue, whether or not the transport has read the end yet
        unread = asyncio.StreamReader()
        assert has_hung_up(unread, served_gone[1])
        assert not has_hung_up(unread, served_there[1])
        for writer in (there[1], served_there[1], served_gone[1]):
            writer.close()
        server.close()

    asyncio.run(main())


#: Connections made at once in the storm below: past the backlog of old (1,024).
STORM = 2000


@pytest.mark.skipif(
    int(Path("/proc/sys/net/core/somaxconn").read_text()) < STORM,
    reason="the kernel caps every backlog below the storm (net.core.somaxconn)",
)
def test_a_storm_of_connections_waits_in_the_kernel_while_the_node_is_busy() -> None:
    """Each peer of a join storm fetches its table over TCP at once: while the node is busy
    (here, it never runs its loop to accept), the kernel queues every connection rather
    than drop its SYN (a client would wait 1 s, then 3 s, to send another)."""
    if raise_open_file_limit() < STORM + 64:
        pytest.skip("the open-file limit is below the storm's sockets")

    async def main() -> None:
        endpoint, port, _ = await answering_endpoint(4096)
        clients = [socket.socket() for _ in range(STORM)]
        try:
            for client in clients:
                client.setblocking(False)
                client.connect_ex(("127.0.0.1", port))
            waiting = select.poll()
            for client in clients:
                waiting.register(client, select.POLLOUT)
            connected: set[int] = set()
            deadline = time.monotonic() + 2.0
            while len(connected) < STORM and time.monotonic() < deadline:
                connected |= {fd for fd, _ in waiting.poll(100)}
            errors = [c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) for c in clients]
            assert len(connected) == STORM and not any(errors)
        finally:
            for client in clients:
                client.close()
            await endpoint.close()

    asyncio.run(main())
