"""What connections that never finish a message cost a real registry and a real peer: many
of them, each with a key of its own, send half of a maximal message and stop. The process
may hold only so much of such messages in all (secure/stream.py, 32 MiB), so its memory
grows by far less than what they sent: 40 of them (80 MiB) in the usual run, 300 (600 MiB)
in the soak."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from .harness import HOST, TABLE_UPDATED, ChatEnv, ChatProc

from secure.stream import KEY_REQUEST_FRAME, SecureStream, key_answer  # isort: skip
from wire.limits import FRAME_HEADER, MAX_FRAME  # isort: skip

HALF = MAX_FRAME // 2


def status_kb(proc: ChatProc, field: str) -> int:
    for row in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if row.startswith(f"{field}:"):
            return int(row.split()[1])
    raise AssertionError(f"no {field}")


def key_of(port: int) -> bytes:
    """The node's public key, asked in clear over TCP as a first-time client may."""
    with socket.create_connection((HOST, port), timeout=5) as conn:
        conn.sendall(len(KEY_REQUEST_FRAME).to_bytes(FRAME_HEADER, "big") + KEY_REQUEST_FRAME)
        answer = b""
        while len(answer) < FRAME_HEADER or len(answer) < FRAME_HEADER + int.from_bytes(
            answer[:FRAME_HEADER], "big"
        ):
            got = conn.recv(128)
            assert got, "closed before the key"
            answer += got
    key = key_answer(answer[FRAME_HEADER:])
    assert key is not None
    return key


def half_a_message(port: int, key: bytes) -> socket.socket | None:
    """A connection that completes the handshake with a new key, then sends every record of
    a message of HALF + 1 bytes but the last: HALF bytes the node holds, waiting for more.
    None when the node closed it (what the budget is for)."""
    conn = socket.create_connection((HOST, port), timeout=10)
    session = SecureStream(X25519PrivateKey.generate(), remote=key)
    try:
        conn.sendall(session.output())
        while not session.ready:
            got = conn.recv(4096)
            if not got:
                conn.close()
                return None
            session.feed(got)
        session.send_encoded(bytes(HALF + 1))
        records = session.output()
        last = FRAME_HEADER + 16 + 1 + 1  # the last record: its flag, one byte and its tag
        conn.sendall(records[:-last])
    except OSError:
        conn.close()
        return None
    return conn


def attack(port: int, held: list[socket.socket], connections: int) -> None:
    key = key_of(port)
    for _ in range(connections):
        conn = half_a_message(port, key)
        if conn is not None:
            held.append(conn)


@pytest.mark.timeout(60)
def test_40_half_sent_maximal_messages_cost_a_registry_and_a_peer_under_60_mb(
    chat: ChatEnv,
) -> None:
    # 80 MiB sent to each: buffered whole, as before the budget, they would cost more
    half_sent(chat, connections=40, max_growth_mb=60)


@pytest.mark.soak
@pytest.mark.timeout(120)
def test_300_half_sent_maximal_messages_cost_a_registry_and_a_peer_under_100_mb(
    chat: ChatEnv,
) -> None:
    half_sent(chat, connections=300, max_growth_mb=100)


def half_sent(chat: ChatEnv, *, connections: int, max_growth_mb: int) -> None:
    """`connections` half-sent maximal messages at a real registry and a real peer at
    once: neither grows by `max_growth_mb` or more, each drops the connection holding most,
    and both still serve."""
    registry = chat.start_registry(options=["--no-desk-console"])
    peer = chat.start_peer("alice")
    assert chat.registry_port is not None
    targets = {registry: chat.registry_port, peer: peer.port}
    idle = {proc: status_kb(proc, "VmRSS") for proc in targets}
    held: dict[ChatProc, list[socket.socket]] = {proc: [] for proc in targets}
    threads = [
        threading.Thread(target=attack, args=(port, held[proc], connections))
        for proc, port in targets.items()
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(100)
        for proc in targets:
            # the peak, not what is left once the budget has dropped connections
            growth = status_kb(proc, "VmHWM") - idle[proc]
            assert growth < max_growth_mb * 1024, f"{proc.label}: {growth} KB more"
            assert proc.alive
        registry.expect(r"closed the TCP connection holding most")
    finally:
        for conns in held.values():
            for conn in conns:
                conn.close()
    # and both still serve: a new peer registers, and alice hears of it
    peer.drain()
    chat.start_peer("bob")
    peer.expect_line(TABLE_UPDATED)
