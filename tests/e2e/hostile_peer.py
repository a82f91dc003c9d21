"""A hostile peer for the file tests: a name registered with a key of its own, at a
loopback address of its choice, that offers files as it likes (a flood, odd names, sizes
that lie), serves bytes that are not what it offered, and asks for a file at forged
offsets."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
import time
from itertools import count

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from .ports import free_port
from .secure_socket import SecureSocket

from tests.datagrams import seal_list  # isort: skip
from wire import messages  # isort: skip  (harness puts the repository on sys.path)
from wire.codec import encode  # isort: skip
from wire.messages import FileNote, FileOffer, FileWant  # isort: skip
from wire.keys import key_from_text  # isort: skip
from wire.version import WIRE_VERSION  # isort: skip
from secure.stream import SecureStream  # isort: skip

Addr = tuple[str, int]


class HostilePeer:
    """`name` registered at the registry `server` from `host`, with a key of its own."""

    def __init__(self, server: Addr, host: str, name: str) -> None:
        self.name = name
        self.static = X25519PrivateKey.generate()
        # (a port free for TCP too, below the ephemeral range: it serves files from it)
        self.sock = SecureSocket(free_port(host), key=self.static, host=host)
        self.host, self.port = self.sock.address
        self.sock.learn_key(server)
        register = messages.Register(f"{name}-r", name, self.port, "", "", WIRE_VERSION)
        self.welcome = self.sock.ask(register, server, messages.Welcome)
        self._ids = count(1)

    def close(self) -> None:
        self.sock.close()

    def peer(self, name: str) -> tuple[Addr, bytes]:
        """The address and key of `name`, as the registry's Welcome listed them."""
        entry = next(e for e in self.welcome.entries if e.name == name)
        key = key_from_text(entry.key)
        assert key is not None
        return (entry.ip, entry.port), key

    def offer(self, to: tuple[Addr, bytes], name: str, size: int, sha256: str) -> str:
        """Offer a file to `to` (address and key); the offer's id."""
        n = next(self._ids)
        offer = f"{self.name}-o{n}"
        message = FileOffer(f"{self.name}-m{n}", self.name, offer, name, size, sha256)
        self.sock.send(encode(message), to[0], to[1])
        return offer

    def sealed_offers(self, to: tuple[Addr, bytes], count: int) -> list[bytes]:
        """`count` offers to `to`, sealed now in the session this peer has with it, to
        send later as fast as wanted (a flood costs the sender little)."""
        datas = []
        for _ in range(count):
            n = next(self._ids)
            offer = FileOffer(
                f"{self.name}-m{n}", self.name, f"{self.name}-o{n}", f"f{n}.bin", 1000, "ab" * 32
            )
            datas.append(encode(offer))
        now = time.monotonic()
        return [
            packet
            for data in datas
            for packet, _ in seal_list(self.sock.channel, [data], [to], now)
        ]

    def notes(self, wait: float) -> list[FileNote]:
        """The FileNotes that come within `wait` s (handshakes and FileSeens passed over)."""
        return [m for m, _, _ in self.sock.receive(wait) if isinstance(m, FileNote)]

    def serve(self, data: bytes) -> threading.Thread:
        """Serve `data` to the first connection that asks for a file (a FileWant), whatever
        was offered, at this peer's address and port; then wait for the other side to close."""
        listener = socket.create_server((self.host, self.port))
        listener.settimeout(30)

        def run() -> None:
            with listener, contextlib.suppress(OSError):
                conn, _ = listener.accept()
                with conn:
                    stream = SecureStream(self.static)
                    while not any(isinstance(m, FileWant) for m in _feed(conn, stream)):
                        pass
                    conn.sendall(stream.seal_data(data))
                    while conn.recv(65536):
                        pass

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    def want(self, at: Addr, key: bytes, offer: str, offset: int) -> list[object]:
        """Ask `at` (key `key`) for the bytes of `offer` from `offset`: what came back (the
        first messages, or the first bytes of the file)."""
        stream = SecureStream(self.static, remote=key)
        stream.send(FileWant(f"{self.name}-w{next(self._ids)}", offer, offset))
        with socket.create_connection(at, timeout=10, source_address=(self.host, 0)) as conn:
            conn.sendall(stream.output())
            while True:
                data = conn.recv(65536)
                if not data:
                    return []
                got = stream.feed_with_data(data)
                conn.sendall(stream.output())
                if got:
                    return [bytes(g) if isinstance(g, memoryview) else g for g in got]


def _feed(conn: socket.socket, stream: SecureStream) -> list[object]:
    data = conn.recv(65536)
    if not data:
        raise OSError("closed")
    got = stream.feed(data)
    conn.sendall(stream.output())
    return list(got)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
