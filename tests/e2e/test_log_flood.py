"""The registry's log cannot be flooded: refusals sent for, from many keys at many
addresses, forged channel posts, saves for names nobody has and operators with wrong keys,
make a few lines, each kind counted, and the registry still serves its peers."""

from __future__ import annotations

import re
import socket
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from peer.core.request_ends import RECEIVED_BY_SERVER

from .harness import HOST, ChatEnv
from .secure_socket import SecureSocket

from secure.stream import SecureStream  # isort: skip  (harness puts the repository on sys.path)
from wire import messages  # isort: skip
from wire.desk.messages import DeskOperator  # isort: skip
from wire.version import WIRE_VERSION  # isort: skip

#: The attackers' addresses (each its own machine on loopback), and sockets per address.
ADDRESSES = [f"127.0.0.{i}" for i in range(2, 6)]
PORTS_EACH = 2
#: Seconds of forged datagrams.
ATTACK = 3.0
#: Operators with a wrong key, over TCP, spread over the addresses.
WRONG_OPERATORS = 40
#: Seconds the registry may take to read what the attack left waiting, and to answer
#: each operator: seconds on a loaded machine.
BACKLOG_READ = 30.0
#: At most this many log lines for the whole attack (one per kind, and some slack for the
#: lines of the registry's own life, such as a flood slowed).
MAX_LINES = 30


def _wrong_operator(registry: tuple[str, int], key: bytes, source: str, n: int) -> None:
    """Go on duty as `op<n>` from `source` with a key that is not the operator key; the
    refusal is read before the connection is left."""
    stream = SecureStream(X25519PrivateKey.generate(), remote=key)
    stream.send(DeskOperator(f"op-{n}", f"op{n}", (), "guessed-key", WIRE_VERSION))
    with socket.create_connection(
        registry, timeout=BACKLOG_READ, source_address=(source, 0)
    ) as conn:
        conn.sendall(stream.output())
        while data := conn.recv(65536):
            got = stream.feed(data)
            conn.sendall(stream.output())
            if got:
                return


def _forge(sockets: list[SecureSocket], registry: tuple[str, int]) -> int:
    """Send forged posts in alice's name and saves from names nobody has (each another),
    from every socket in turn, for ATTACK seconds; how many were sent."""
    sent, end = 0, time.monotonic() + ATTACK
    while time.monotonic() < end:
        for sock in sockets:
            sent += 1
            if sent % 2:
                post = messages.ChannelPost(f"p-{sent}", "alice", "0" * 32, "forged")
                sock.send(post, registry)
            else:
                save = messages.SaveMessage(f"s-{sent}", f"nobody{sent}", "0" * 32, "alice", "x")
                sock.send(save, registry)
            while True:  # what came back: handshakes answered, the rest left
                try:
                    sock.take()
                except BlockingIOError:
                    break
    return sent


@pytest.mark.timeout(120)
def test_refusals_from_many_keys_and_addresses_make_a_few_counted_lines(chat: ChatEnv) -> None:
    registry = chat.start_registry(options=["--no-desk-console"])
    (alice,) = chat.start_peers("alice")
    assert chat.registry_port is not None
    server = (HOST, chat.registry_port)
    registry.drain()
    sockets = [SecureSocket(host=ip) for ip in ADDRESSES for _ in range(PORTS_EACH)]
    try:
        key = b""
        for sock in sockets:  # a key of each socket's own
            key = sock.learn_key(server)
            sock.sock.setblocking(False)
        before = len(registry.transcript)
        sent = _forge(sockets, server)
        for n in range(WRONG_OPERATORS):
            _wrong_operator(server, key, ADDRESSES[n % len(ADDRESSES)], n)
    finally:
        for sock in sockets:
            sock.close()
    # the registry still serves; and it has read all that came before this (awaited as
    # long as a loaded machine takes it to read the backlog the flood left)
    alice.send("send_all still here")
    alice.expect_line(RECEIVED_BY_SERVER, timeout=BACKLOG_READ)
    registry.expect(r"channel message from alice relayed", timeout=BACKLOG_READ)
    logged = registry.transcript[before:]
    assert len(logged) <= MAX_LINES, f"{len(logged)} lines for {sent} forgeries"
    assert any(re.search(r"belongs to another key", line) for line in logged)
    assert any(re.search(r"No one is called", line) for line in logged)
    assert any(re.search(r"wrong key", line) for line in logged)
    # every refusal is counted, though not written: at least the operators', and many more
    registry.send("stats")
    counted = registry.expect(r"refusals and failed checks (\d+)")
    assert int(counted[1]) >= WRONG_OPERATORS + 100
