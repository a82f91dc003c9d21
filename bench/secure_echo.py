"""The secure channel's bare round trip: raw UDP, each datagram sealed and opened.

The direct-message target for the secure peers is a multiple of this: the same
`SecureChannel` (secure/channel.py) the peers use, its handshake done beforehand, carrying a
Chat's bytes out and back in two stock asyncio DatagramProtocols. The echo opens each
datagram and seals what it carried back to its sender; the pinger seals, sends, and times
until the echo opens. Nothing else: no codec, no core, no records.
"""

from __future__ import annotations

import asyncio
import time

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from secure.channel import SecureChannel
from secure.noise import public_bytes
from wire.codec import encode
from wire.messages import Chat

Addr = tuple[str, int]


class SecureEcho(asyncio.DatagramProtocol):
    """Opens each datagram and sends what it carried back, sealed to whoever sealed it."""

    def __init__(self, static: X25519PrivateKey) -> None:
        self.channel = SecureChannel(static)
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Addr) -> None:
        assert self._transport is not None
        now = time.monotonic()
        opened = self.channel.open(data, addr, now)
        for packet, to in opened.send:
            self._transport.sendto(packet, to)
        if opened.data is not None and opened.key is not None:
            send = self._transport.sendto
            self.channel.seal([opened.data], [(addr, opened.key)], now, lambda out: send(*out))


def echo_key(static: X25519PrivateKey) -> str:
    """The echo's public key as the pinger is told it (hex)."""
    return public_bytes(static).hex()


async def round_trips(
    port: int, key_hex: str, count: int, host: str = "127.0.0.1", timeout: float = 1.0
) -> list[float]:
    """Seconds from each Chat's bytes sealed to the echo's key until its echo opened, one at
    a time, `count` of them after a tenth more to warm up (the first makes the handshake);
    TimeoutError when one is not back within `timeout` seconds."""
    loop = asyncio.get_running_loop()
    key = bytes.fromhex(key_hex)
    addr = (host, port)
    channel = SecureChannel(X25519PrivateKey.generate())
    waiter: list[asyncio.Future[float]] = []

    class Pinger(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.t: asyncio.DatagramTransport = transport  # type: ignore[assignment]

        def datagram_received(self, data: bytes, came_from: Addr) -> None:
            opened = channel.open(data, came_from, time.monotonic())
            for packet, to in opened.send:
                self.t.sendto(packet, to)
            if opened.data is not None and waiter and not waiter[0].done():
                waiter[0].set_result(time.perf_counter())

    transport, _ = await loop.create_datagram_endpoint(Pinger, remote_addr=addr)
    times: list[float] = []
    try:
        for i in range(count + count // 10):
            data = encode(Chat(f"a-{i}", "alice", "bob", f"message {i}"))
            waiter[:] = [loop.create_future()]
            t0 = time.perf_counter()
            channel.seal(
                [data], [(addr, key)], time.monotonic(), lambda out: transport.sendto(out[0])
            )
            acked = await asyncio.wait_for(waiter[0], timeout)
            if i >= count // 10:  # the first tenth warms up
                times.append(acked - t0)
    finally:
        transport.close()
    return times
