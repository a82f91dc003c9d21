"""A TCP connection of ours, accepted within CONNECT_WAIT seconds (`connect`), and the secure
channel begun on it (`dial`); why one was not made, said alike by every caller (`why_not`)."""

from __future__ import annotations

import asyncio
import socket
from typing import NamedTuple

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from disk.files import os_reason
from secure.stream import BufferBudget, SecureStream

#: Seconds a TCP connection we open has to be accepted.
CONNECT_WAIT = 5.0


class Dialed(NamedTuple):
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    stream: SecureStream


async def connect(addr: tuple[str, int], local: str | None = None) -> socket.socket:
    """A non-blocking TCP socket connected to `addr` (an IP address and a port), from the
    address `local` when given. Raises OSError, or TimeoutError past CONNECT_WAIT."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(CONNECT_WAIT):
        found = await loop.getaddrinfo(*addr, type=socket.SOCK_STREAM)
        family, kind, proto, _, target = found[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            if local is not None:
                sock.bind((local, 0))
            await loop.sock_connect(sock, target)
        except BaseException:
            sock.close()
            raise
    return sock


async def dial(
    addr: tuple[str, int],
    key: bytes,
    static: X25519PrivateKey | None = None,
    local: str | None = None,
    budget: BufferBudget | None = None,
) -> Dialed:
    """`connect`, then the secure channel's session with `key` (the one expected at `addr`)
    under `static` (None: a key for this connection alone), its handshake's first frame
    written. Raises ValueError, before connecting, for a key no handshake can use."""
    stream = SecureStream(static or X25519PrivateKey.generate(), remote=key, budget=budget)
    reader, writer = await asyncio.open_connection(sock=await connect(addr, local))
    writer.write(stream.output())
    return Dialed(reader, writer, stream)


def why_not(exc: BaseException) -> str:
    """Why a connection was not made or broke: "no answer" when it timed out."""
    return "no answer" if isinstance(exc, TimeoutError) else os_reason(exc)
