"""What the secure channel keeps (secure/sessions.py): peers in least-recently-used order,
bounded; each key's newest handshake time, wherever it came from."""

from __future__ import annotations

import tracemalloc

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from secure import sessions
from secure.channel import SecureChannel
from secure.sessions import Sessions
from tests.datagrams import seal_list

A = ("10.0.0.1", 6001)
B = ("10.0.0.2", 6002)
KEYS = [bytes([i]) * 32 for i in range(1, 10)]


def test_the_least_recently_used_peer_is_forgotten_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sessions, "MAX_PEERS", 3)
    kept = Sessions()
    first = kept.peer(KEYS[0], A)
    kept.peer(KEYS[1], A)
    kept.peer(KEYS[2], A)
    assert kept.peer(KEYS[0], A) is first  # used again: the most recent now
    kept.peer(KEYS[3], A)  # one too many: the least recently used goes
    assert list(kept.peers) == [(KEYS[2], A), (KEYS[0], A), (KEYS[3], A)]


def test_a_key_at_two_addresses_is_two_peers() -> None:
    kept = Sessions()
    assert kept.peer(KEYS[0], A) is not kept.peer(KEYS[0], B)


def test_a_handshake_time_must_be_newer_than_any_from_its_key_from_any_address() -> None:
    kept = Sessions()
    assert kept.newer_stamp(KEYS[0], b"\x00" * 11 + b"\x05")
    assert not kept.newer_stamp(KEYS[0], b"\x00" * 11 + b"\x05")  # the same: a replay
    assert not kept.newer_stamp(KEYS[0], b"\x00" * 11 + b"\x04")  # older
    assert kept.newer_stamp(KEYS[1], b"\x00" * 11 + b"\x04")  # another key's own
    assert kept.newer_stamp(KEYS[0], b"\x00" * 11 + b"\x06")


def test_the_handshake_times_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sessions, "STAMPS_KEPT", 2)
    kept = Sessions()
    stamp = b"\x00" * 11 + b"\x05"
    for key in KEYS[:3]:
        assert kept.newer_stamp(key, stamp)
    assert kept.newer_stamp(KEYS[0], stamp)  # forgotten: the least recently handshaken
    assert not kept.newer_stamp(KEYS[2], stamp)


def test_a_peer_with_a_handshake_answered_costs_under_3_kb() -> None:
    """So MAX_PEERS of them, all strangers' handshakes, hold some 50 MB at most
    (docs/SECURITY.md)."""
    responder = SecureChannel(X25519PrivateKey.generate())
    initiations = []
    for _ in range(300):
        stranger = SecureChannel(X25519PrivateKey.generate())
        initiations += [p for p, _ in seal_list(stranger, [b""], [(A, responder.public)], 0.0)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i, packet in enumerate(initiations):  # spread out: no load
            assert responder.open(packet, ("10.0.0.1", 1000 + i), i / 10).send
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown / len(initiations) < 3000  # 2.3 kB with CPython 3.11
