"""A bare direct message with its ack: the floor a Python peer reaches on this loop.

The direct-message target compares ChatApp's send-to-ack with a raw UDP round trip, which
carries bytes and does nothing with them. This is the same exchange with as little work as
ChatApp's protocol allows, in the same two stock asyncio DatagramProtocols as the raw
round trip: the sender encodes a Chat (wire's encoder) and remembers its id; the receiver
parses it to plain JSON values with msgspec (the endpoint's parser), checks it is addressed
to it, records (sender, id) as shown in a memory-mapped file unless seen before (as a peer must
before acking), and answers an Ack; the sender parses that likewise and forgets the id.
No core, no actions, no commands, no table, no retry timer: what the peers do beyond this
is what ChatApp costs, and how far this is from the raw round trip is what any Python peer
costs.
"""

from __future__ import annotations

import asyncio
import itertools
import mmap
import os
import tempfile
import time
from typing import Any

import msgspec

from wire.codec import encode
from wire.messages import Ack, Chat

#: Plain JSON values, as msgspec reads them (the parser of a peer's endpoint).
parse = msgspec.json.Decoder().decode

Addr = tuple[str, int]

#: Bytes of the shown-ids map (far more than a bench run records).
SEEN_MAP = 1 << 22
#: Message numbers, unique across calls of `round_trips` (a repeated id would be a
#: duplicate to the receiver, which acks it without recording it: less work).
_numbers = itertools.count()


class BareReceiver(asyncio.DatagramProtocol):
    """The receiving peer ("bob"): shown records and acks, nothing else."""

    def __init__(self, name: str = "bob") -> None:
        self.name = name
        self.seen: set[tuple[str, str]] = set()
        fd, path = tempfile.mkstemp(prefix="chatapp-bench-seen-")
        os.unlink(path)
        os.ftruncate(fd, SEEN_MAP)
        self._map = mmap.mmap(fd, SEEN_MAP)
        os.close(fd)
        self._end = 0
        self._acks = 0
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Addr) -> None:
        try:
            message: Any = parse(data)
            if message["t"] != "Chat" or message["to"] != self.name:
                return
            key = (message["sender"], message["id"])
        except (ValueError, KeyError, TypeError):
            return  # not what the bench sends: dropped
        if key not in self.seen:
            self.seen.add(key)
            record = f"{key[0]}\t{key[1]}\n".encode()
            end = self._end + len(record)
            if end <= SEEN_MAP:
                self._map[self._end : end] = record
                self._end = end
        self._acks += 1
        assert self._transport is not None
        self._transport.sendto(encode(Ack(f"b-{self._acks}", key[1])), addr)


async def round_trips(port: int, count: int, host: str = "127.0.0.1") -> list[float]:
    """Seconds from each Chat sent to its Ack taken in, one at a time, `count` of them after
    a tenth more to warm up, to the BareReceiver at `port`."""
    loop = asyncio.get_running_loop()
    pending: dict[str, asyncio.Future[float]] = {}

    class Sender(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Addr) -> None:
            try:
                waiter = pending.pop(parse(data)["reply_to"], None)
            except (ValueError, KeyError, TypeError):
                return
            if waiter is not None and not waiter.done():
                waiter.set_result(time.perf_counter())

    transport, _ = await loop.create_datagram_endpoint(Sender, remote_addr=(host, port))
    times: list[float] = []
    try:
        for i in range(count + count // 10):
            msg_id = f"a-{next(_numbers)}"
            waiter: asyncio.Future[float] = loop.create_future()
            pending[msg_id] = waiter
            t0 = time.perf_counter()
            transport.sendto(encode(Chat(msg_id, "alice", "bob", f"message {i}")))
            acked = await asyncio.wait_for(waiter, 1.0)
            if i >= count // 10:  # the first tenth warms up
                times.append(acked - t0)
    finally:
        transport.close()
    return times
