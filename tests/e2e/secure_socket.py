"""A UDP socket that speaks the secure channel with a key of its own: what a hand-made
client of the tests (or an attacker with a key of its own) uses to talk to real processes."""

from __future__ import annotations

import contextlib
import socket
import time
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from secure.channel import SecureChannel
from secure.stream import SecureStream
from tests.datagrams import messages_of, seal_list
from wire.codec import DecodeError, encode
from wire.messages import Message

Addr = tuple[str, int]
M = TypeVar("M", bound=Message)
HOST = "127.0.0.1"


class SecureSocket:
    """A bound UDP socket with a SecureChannel: `send` seals a message (or raw bytes) for a
    key, `receive` opens what comes and answers handshakes as any program does."""

    def __init__(
        self, port: int = 0, key: X25519PrivateKey | None = None, host: str = HOST
    ) -> None:
        """Bound to `host`:`port` (another loopback address plays another machine)."""
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.address: Addr = self.sock.getsockname()
        self.channel = SecureChannel(key or X25519PrivateKey.generate())
        self._clock = time.monotonic
        #: The key of each address this socket talks to (the registry's, once learned).
        self.keys: dict[Addr, bytes] = {}

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> SecureSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def learn_key(self, addr: Addr, wait: float = 3.0) -> bytes:
        """The key of the registry at `addr`, asked as a peer asks it."""
        self.sock.sendto(self.channel.ask_key(addr), addr)
        end = self._clock() + wait
        while self._clock() < end:
            self.sock.settimeout(max(0.01, end - self._clock()))
            try:
                data, frm = self.sock.recvfrom(65535)
            except (TimeoutError, OSError):
                break
            opened = self.channel.open(data, frm, self._clock())
            if opened.learned:  # the key, then the protocol the registry speaks
                self.keys[addr] = opened.learned[:32]
                return opened.learned[:32]
        raise AssertionError(f"no key from {addr}")

    def send(self, message: Message | bytes, addr: Addr, key: bytes | None = None) -> None:
        """Seal `message` (or bytes as they are, a message's encoding) for `key` (by
        default the one learned at `addr`) and send it."""
        data = message if isinstance(message, bytes) else encode(message)
        key = key or self.keys[addr]
        self.keys.setdefault(addr, key)
        for packet, to in seal_list(self.channel, [data], [(addr, key)], self._clock()):
            self.sock.sendto(packet, to)

    def receive(self, wait: float) -> list[tuple[Message, Addr, bytes]]:
        """Every message that opens within `wait` s (handshakes answered on the way); stops
        at the first quiet moment once something came."""
        got: list[tuple[Message, Addr, bytes]] = []
        end = self._clock() + wait
        while self._clock() < end:
            self.sock.settimeout(max(0.01, end - self._clock() if not got else 0.2))
            try:
                data, frm = self.sock.recvfrom(65535)
            except (TimeoutError, OSError):
                if got:
                    break
                continue
            opened = self.channel.open(data, frm, self._clock())
            for packet, to in opened.send:
                self.sock.sendto(packet, to)
            if opened.data is not None:
                with contextlib.suppress(DecodeError):
                    got += [(m, frm, opened.key) for m in messages_of(opened.data)]
        return got

    def over_tcp(self, message: Message, addr: Addr, until: type, wait: float = 5.0) -> Message:
        """Send `message` over a new TCP connection in the secure channel; the first message
        of type `until` that comes back."""
        stream = SecureStream(self.channel.static, remote=self.keys[addr])
        stream.send(message)
        # from this socket's address: another loopback address plays another machine
        source = (self.sock.getsockname()[0], 0)
        with socket.create_connection(addr, timeout=wait, source_address=source) as conn:
            conn.sendall(stream.output())
            while True:
                data = conn.recv(65536)
                assert data, f"{addr} closed before a {until.__name__}"
                messages = stream.feed(data)
                conn.sendall(stream.output())
                for got in messages:
                    if isinstance(got, until):
                        return got

    def take(self) -> list[tuple[Message, Addr]]:
        """What one datagram waiting on the (non-blocking) socket carries, handshakes
        answered; raises BlockingIOError when none waits."""
        data, frm = self.sock.recvfrom(65535)
        opened = self.channel.open(data, frm, self._clock())
        for packet, to in opened.send:
            self.sock.sendto(packet, to)
        if opened.data is None:
            return []
        with contextlib.suppress(DecodeError):
            return [(m, frm) for m in messages_of(opened.data)]
        return []

    def ask(self, message: Message, addr: Addr, answer: type[M], wait: float = 10.0) -> M:
        """Send `message` to `addr` and return the first answer of type `answer` as soon as
        it comes (handshakes answered, anything else passed over); an assertion error if
        none came within `wait` s (a deadline, not a pause: a loaded machine may take it)."""
        self.send(message, addr)
        end = self._clock() + wait
        while (left := end - self._clock()) > 0:
            for got, _, _ in self.receive(left):
                if isinstance(got, answer):
                    return got
        raise AssertionError(
            f"no {getattr(answer, '__name__', answer)} from {addr} within {wait:g} s"
        )

    def exchange(self, message: Message | bytes, addr: Addr, wait: float) -> list[Message]:
        """Send `message` to `addr` and return what came back within `wait` s."""
        self.send(message, addr)
        return [m for m, _, _ in self.receive(wait)]
