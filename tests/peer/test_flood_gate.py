"""peer/adapter/node.py: what one address sends beyond the peer's rate is dropped and told to
the one log of rejections; the registry is never dropped."""

from __future__ import annotations

from peer.adapter.node import PEER_BURST, PeerGate

REGISTRY, MALLORY, BOB = ("127.0.0.1", 5000), ("127.0.0.2", 6000), ("127.0.0.3", 6001)


def test_one_address_beyond_its_burst_is_dropped_and_logged_the_registry_never() -> None:
    told: list[tuple[str, str]] = []
    gate = PeerGate(
        lambda: REGISTRY, lambda kind, line: told.append((kind, line)), clock=lambda: 100.0
    )
    # (one instant: nothing refills)
    admitted = sum(gate(MALLORY) for _ in range(int(PEER_BURST) + 50))
    assert admitted == PEER_BURST and gate.dropped == 50
    assert told[0] == ("flood", "flood from 127.0.0.2:6000: dropped")
    assert all(gate(REGISTRY) for _ in range(int(PEER_BURST) * 2))
    assert gate(BOB)  # another address has its own allowance


def test_by_key_counts_each_key_on_its_own_and_never_drops_the_registry() -> None:
    told: list[tuple[str, str]] = []
    gate = PeerGate(
        lambda: REGISTRY, lambda kind, line: told.append((kind, line)), clock=lambda: 100.0
    )
    mallory, carol = b"m" * 32, b"c" * 32
    # one key from two addresses shares one allowance
    admitted = sum(gate.by_key((MALLORY[0], 6000 + n % 2), mallory) for n in range(3000))
    assert admitted == PEER_BURST and gate.dropped == 3000 - PEER_BURST
    assert told[0] == ("flood", "flood from the key at 127.0.0.2:6000: dropped")
    assert gate.by_key(BOB, carol)  # another key has its own
    assert all(gate.by_key(REGISTRY, b"r" * 32) for _ in range(int(PEER_BURST) * 2))
