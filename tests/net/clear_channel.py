"""A stand-in for the secure channel in the endpoint's own tests: datagrams pass as they
are, so that what is tested (batching, packing, acks, amplification, TCP fallback) can be
read off plain sockets. Streams still run the real secure session, with one key shared by
every endpoint of the tests. And a monotonic clock the tests move by hand."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from net.endpoint import Endpoint
from secure.channel import Opened, Send
from secure.noise import public_bytes
from secure.stream import SecureStream

Addr = tuple[str, int]
#: The one key of every endpoint in these tests (streams need a real one).
KEY = X25519PrivateKey.generate()
PUBLIC = public_bytes(KEY)


class Clock:
    """Reads `now`, which only the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ClearChannel:
    """Seals nothing and opens everything, as sent by PUBLIC."""

    static = KEY
    public = PUBLIC

    def seal(
        self, datas: list[bytes], dests: Sequence[tuple[Addr, bytes]], now: float, send: Send
    ) -> None:
        for addr, _ in dests:
            for data in datas:
                send((data, addr))

    def open(self, datagram: bytes, addr: Addr, now: float) -> Opened:
        return Opened(data=datagram, key=PUBLIC)

    def ask_key(self, addr: Addr) -> bytes:
        return b""


def clear_endpoint(on_message: Callable[[Any, Addr], None], **options: Any) -> Endpoint:
    """An Endpoint over ClearChannel whose `on_message` takes (message, address)."""
    return Endpoint(
        lambda message, addr, key: on_message(message, addr),
        channel=ClearChannel(),  # type: ignore[arg-type]
        **options,
    )


def with_keys(addrs: Sequence[Addr]) -> tuple[Sequence[Addr], list[bytes]]:
    """`addrs` and the key to send to at each (PUBLIC), as `Endpoint.send_many` takes them."""
    return addrs, [PUBLIC] * len(addrs)


_sessions: dict[object, SecureStream] = {}


def session_of(writer: Any) -> SecureStream:
    """The secure session of a test's own TCP connection (its writer), begun on first use:
    its first frame is written at once."""
    session = _sessions.get(writer)
    if session is None:
        session = _sessions[writer] = SecureStream(KEY, remote=PUBLIC)
        writer.write(session.output())
    return session


async def handshaken(reader: Any, writer: Any) -> SecureStream:
    """The secure session of a test's own TCP connection, once its handshake is over: what
    is sent on it then leaves at once."""
    session = session_of(writer)
    while not session.ready:
        data = await reader.read(65536)
        assert data, "closed during the handshake"
        session.feed(data)
    return session
