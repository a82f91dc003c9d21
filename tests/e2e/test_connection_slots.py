"""A registry whose every TCP place is taken still registers new peers: with an open-file
limit of 128 (64 places once files have theirs), 100 connections from four addresses,
each sending a frame a second that asks for nothing, fill them; two new peers, whose
Welcome is too big for a datagram (a table of 60 names), fetch it over TCP all the same."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from .harness import HOST, WELCOME, ChatEnv
from .secure_socket import SecureSocket
from .test_memory_bounds import key_of

from secure.stream import SecureStream  # isort: skip
from wire.messages import Ack, Busy, Register, TooBig, Welcome  # isort: skip
from wire.version import WIRE_VERSION  # isort: skip

pytestmark = pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs prlimit")

OPEN_FILES = 128
HELD = 100
NAMES = 60


def fill_the_table(port: int) -> None:
    """Register NAMES names, each with a key of its own, so that a Welcome needs TCP."""
    addr = (HOST, port)
    with SecureSocket() as sock:
        registry = sock.learn_key(addr)

    def register(n: int) -> bool:
        with SecureSocket() as sock:
            token = secrets.token_hex(16)
            message = Register(f"f{n}-1", f"filler{n:03d}", 40_000 + n, token, "", WIRE_VERSION)
            for _ in range(5):
                sock.send(message, addr, registry)
                got = [m for m, _, _ in sock.receive(5.0)]
                if any(isinstance(m, Welcome | TooBig) for m in got):
                    return True
                for busy in (m for m in got if isinstance(m, Busy)):
                    # a registry behind (60 at once, on a loaded machine): as a peer does,
                    # this one waits as long as it is asked to
                    time.sleep(busy.wait_ms / 1000)
            return False

    with ThreadPoolExecutor(NAMES) as pool:  # at once: each waits for its answer
        assert all(pool.map(register, range(NAMES)))


class Holders:
    """HELD connections with keys of their own, from 127.0.0.2-5, each sending an Ack (which
    nobody answers) every second until stopped."""

    def __init__(self, port: int) -> None:
        key = key_of(port)
        self.conns: list[tuple[socket.socket, SecureStream]] = []
        for n in range(HELD):
            source = (f"127.0.0.{2 + n % 4}", 0)
            conn = socket.create_connection((HOST, port), timeout=5, source_address=source)
            session = SecureStream(X25519PrivateKey.generate(), remote=key)
            conn.sendall(session.output())
            try:
                while not session.ready:
                    got = conn.recv(4096)
                    if not got:
                        break
                    session.feed(got)
            except OSError:
                pass
            self.conns.append((conn, session))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._talk)
        self._thread.start()

    def _talk(self) -> None:
        n = 0
        while not self._stop.is_set():
            for conn, session in self.conns:
                if session.ready:
                    n += 1
                    session.send(Ack(f"h-{n}", "nothing"))
                    with contextlib.suppress(OSError):  # closed for a newcomer
                        conn.sendall(session.output())
            self._stop.wait(1.0)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn, _ in self.conns:
            conn.close()


@pytest.mark.timeout(60)
def test_new_peers_register_while_every_tcp_place_is_held(chat: ChatEnv) -> None:
    chat.prefix = ["prlimit", f"--nofile={OPEN_FILES}:{OPEN_FILES}", "--"]
    registry = chat.start_registry(options=["--no-desk-console", "--new-names", "1000"])
    chat.prefix = []  # the peers as usual
    assert chat.registry_port is not None
    fill_the_table(chat.registry_port)
    holders = Holders(chat.registry_port)
    try:
        for name in ("newcomer1", "newcomer2"):
            peer = chat.start_peer(name, wait=False)
            peer.expect_line(WELCOME, timeout=15)
        registry.expect(r"closed the least useful TCP connection")
    finally:
        holders.close()
