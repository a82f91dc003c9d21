"""Minimal ChatApp clients, the counterpart of bench/ircd.py's minimal IRC clients.

Measuring the registry against ngircd with 100 real PeerNodes on the receiving side
measures, mostly, 100 Python peers sharing one process and one core: each decodes,
records, shows and acks every message. ngircd's clients in the same bench only split
lines and count. A LightClient does the least the protocol asks of a peer: it registers
(over TCP, so the Welcome with the whole table arrives in one frame), decodes each
datagram with one json.loads, counts the channel messages it has not seen, and answers
each datagram with one Acks. The registry under test is the real one, unchanged.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable

from bench.common import HOST
from wire.codec import encode
from wire.framing import StreamDecoder, encode_frame
from wire.messages import Acks, Register, Welcome

Addr = tuple[str, int]


class LightClient:
    """One registered name on its own UDP socket, counting channel messages."""

    def __init__(self, name: str, server: Addr) -> None:
        self.name = name
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self.sock.bind((HOST, 0))
        self.sock.setblocking(False)
        self.port: int = self.sock.getsockname()[1]
        self.seen: set[str] = set()
        self.channel = 0
        self.on_channel: Callable[[LightClient, int], None] = lambda client, new: None
        self._acks = 0

    async def register(self) -> None:
        """Register over TCP and wait for the Welcome; then listen on UDP."""
        reader, writer = await asyncio.open_connection(*self.server)
        writer.write(encode_frame(Register(f"{self.name}-reg", self.name, self.port, "", "")))
        decoder = StreamDecoder()
        try:
            while True:
                data = await asyncio.wait_for(reader.read(65536), 20.0)
                if not data:
                    raise ConnectionError(f"{self.name}: registry closed before the Welcome")
                if any(isinstance(m, Welcome) for m in decoder.feed(data)):
                    break
        finally:
            writer.close()
        asyncio.get_running_loop().add_reader(self.sock.fileno(), self._readable)

    def _readable(self) -> None:
        for _ in range(512):
            try:
                data, addr = self.sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            obj = json.loads(data)
            items = obj if type(obj) is list else [obj]
            ids: list[str] = []
            new = 0
            for item in items:
                kind = item["t"]
                if kind == "Ack" or kind == "Acks":
                    continue
                msg_id = item["id"]
                ids.append(msg_id)
                if kind == "ChannelMessage" and msg_id not in self.seen:
                    self.seen.add(msg_id)
                    new += 1
            if ids:
                self._acks += 1
                self.sock.sendto(encode(Acks(f"{self.name}-{self._acks}", tuple(ids))), addr)
            if new:
                self.channel += new
                self.on_channel(self, new)

    def close(self) -> None:
        with_loop = asyncio.get_running_loop()
        with_loop.remove_reader(self.sock.fileno())
        self.sock.close()


async def light_clients(
    count: int, server: Addr, prefix: str, batch: int = 50
) -> list[LightClient]:
    """`count` registered light clients, `batch` registering at a time."""
    clients = [LightClient(f"{prefix}{i}", server) for i in range(count)]
    for i in range(0, count, batch):
        await asyncio.gather(*(c.register() for c in clients[i : i + batch]))
    return clients
