"""A test's own peer for a registry served in the same event loop: a non-blocking UDP
socket and a TCP connection that speak the secure channel with a key of their own."""

from __future__ import annotations

import asyncio
import socket
import time

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from secure.channel import SecureChannel
from secure.stream import SecureStream
from tests.datagrams import messages_of, seal_list
from wire.codec import encode
from wire.messages import Ack, Message, Restarted

Addr = tuple[str, int]


class SecurePeer:
    """`send` seals a message (or a message's bytes) for the registry's `key`; `receive`
    opens what comes, answering handshakes on the way."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.address: Addr = self.sock.getsockname()
        self.static = X25519PrivateKey.generate()
        self.channel = SecureChannel(self.static)

    def __enter__(self) -> SecurePeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def getsockname(self) -> Addr:
        return self.address

    def send(self, message: Message | bytes, addr: Addr) -> None:
        data = message if isinstance(message, bytes) else encode(message)
        for packet, to in seal_list(self.channel, [data], [(addr, self.key)], time.monotonic()):
            self.sock.sendto(packet, to)

    async def receive(self, timeout: float = 5.0) -> list[Message]:
        """The messages of the next datagram that carries any."""
        loop = asyncio.get_running_loop()
        while True:
            data, frm = await asyncio.wait_for(loop.sock_recvfrom(self.sock, 65536), timeout)
            opened = self.channel.open(data, frm, time.monotonic())
            for packet, to in opened.send:
                self.sock.sendto(packet, to)
            if opened.data is not None:
                return messages_of(opened.data)

    async def take_news(self, addr: Addr) -> None:
        """Ack the Restarted of the registry at `addr`, just started with this peer online
        (until then it drops what the peer's outbox would send again)."""
        while not any(isinstance(news := m, Restarted) for m in await self.receive()):
            pass
        self.send(Ack(f"ack-{news.id}", news.id), addr)

    async def connect(self, addr: Addr) -> SecureConnection:
        """A connection to `addr`, its handshake over."""
        reader, writer = await asyncio.open_connection(*addr)
        connection = SecureConnection(reader, writer, SecureStream(self.static, remote=self.key))
        while not connection.stream.ready:
            data = await asyncio.wait_for(reader.read(65536), 5.0)
            assert data, "closed during the handshake"
            connection.stream.feed(data)
        return connection


class SecureConnection:
    """A TCP connection in the secure channel."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stream: SecureStream
    ) -> None:
        self.reader, self.writer, self.stream = reader, writer, stream
        writer.write(stream.output())

    def send(self, message: Message) -> None:
        self.stream.send(message)
        self.writer.write(self.stream.output())

    async def receive(self, timeout: float = 5.0) -> list[Message]:
        """The messages completed by the next bytes read ([] once the connection ends)."""
        while True:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                return []
            messages = self.stream.feed(data)
            self.writer.write(self.stream.output())
            if messages:
                return messages

    def close(self) -> None:
        self.writer.close()
