"""A peer's endpoint and its flood gate (net/endpoint.py, peer/adapter/node.py):
data is opened without asking the gate (what names no live session at its source address
is dropped by its header), so a peer sending fast is never cut at the gate's rate, and a
forged or replayed datagram naming that session costs one decryption at most; whatever
else an address sends (a handshake initiation first) is still counted and dropped unopened
beyond the rate. While the peer lags behind its socket, each key is held to the rate, so
others still get in."""

from __future__ import annotations

import os
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from net.endpoint import Endpoint
from peer.adapter.node import PEER_BURST, PeerGate
from secure.channel import _DATA_HEADER, DATA, SecureChannel
from secure.noise import Handshake
from tests.datagrams import seal_list
from wire.codec import encode
from wire.messages import Chat, Message

pytestmark = pytest.mark.timeout(30)

REGISTRY, ALICE, BOB = ("127.0.0.1", 5000), ("127.0.0.1", 6001), ("127.0.0.1", 6002)
#: Attackers: one address each, and a key each where they need one.
ATTACKERS = [(f"127.0.0.{n}", 7000 + n) for n in range(2, 12)]
NOW = 10.0


class Decrypts:
    """A session's receiving cipher, with its decryptions counted."""

    def __init__(self, aead: Any) -> None:
        self._aead = aead
        self.calls = 0

    def decrypt(self, nonce: bytes, data: bytes, associated: bytes) -> bytes:
        self.calls += 1
        result: bytes = self._aead.decrypt(nonce, data, associated)
        return result


def handshakes_counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A one-item list counting the handshake messages read (each a DH) from now on."""
    opened = [0]
    read_message = Handshake.read_message

    def counted(self: Handshake, message: bytes) -> bytes:
        opened[0] += 1
        return read_message(self, message)

    monkeypatch.setattr(Handshake, "read_message", counted)
    return opened


def bob_endpoint(got: list[Message]) -> tuple[Endpoint, PeerGate]:
    """Bob's endpoint as a peer makes it, its gate's clock stopped (nothing refills), and
    no socket: datagrams are handed to it as its drain would."""
    gate = PeerGate(lambda: REGISTRY, lambda kind, line: None, clock=lambda: NOW)
    endpoint = Endpoint(
        lambda message, addr, key: got.append(message),
        channel=SecureChannel(X25519PrivateKey.generate()),
        session="b",
        gate=gate,
        key_gate=gate.by_key,
    )
    return endpoint, gate


def session_with_bob(bob: Endpoint, at: tuple[str, int] = ALICE) -> tuple[SecureChannel, Decrypts]:
    """A new key's channel at `at` (alice's, unless said), with a confirmed session to bob
    (bob's decryptions counted)."""
    alice = SecureChannel(X25519PrivateKey.generate())
    ((initiation, _),) = seal_list(alice, [b"x"], [(BOB, bob.channel.public)], NOW)
    ((response, _),) = bob.channel.open(initiation, at, NOW).send
    ((first, _),) = alice.open(response, BOB, NOW).send
    bob.receive(first, at, NOW)  # confirms bob's session (not a message: dropped as bad)
    (session,) = [s for s in bob.channel.sessions_at(at) if s.confirmed]
    counted = Decrypts(session.receiving)
    session.receiving = counted  # type: ignore[assignment]
    return alice, counted


def chat(n: int) -> bytes:
    return encode(Chat(f"a-{n}", "alice", "bob", f"message {n}"))


def sealed(alice: SecureChannel, bob: Endpoint, data: bytes) -> bytes:
    """`data` sealed by alice in her session with bob."""
    ((datagram, _),) = seal_list(alice, [data], [(BOB, bob.channel.public)], NOW)
    return datagram


def test_a_live_sessions_data_is_opened_beyond_the_rate_and_a_replay_costs_one_open() -> None:
    got: list[Message] = []
    bob, gate = bob_endpoint(got)
    alice, decrypts = session_with_bob(bob)
    many = int(PEER_BURST) + 500
    captured = [sealed(alice, bob, chat(n)) for n in range(many)]
    for datagram in captured:
        bob.receive(datagram, ALICE, NOW)
    assert len(got) == many and gate.dropped == 0  # never cut at the gate's rate
    opened = decrypts.calls
    # The captured datagrams again, from the session's own address and from ten others,
    # with forgeries naming the same session: nothing shown again, one decryption at most.
    (_, index, counter) = _DATA_HEADER.unpack_from(captured[-1])
    forged = _DATA_HEADER.pack(DATA, index, counter + 1) + os.urandom(60)
    attack = 0
    for addr in [ALICE, *ATTACKERS]:
        for datagram in [*captured[:200], forged]:
            bob.receive(datagram, addr, NOW)
            attack += 1
    assert len(got) == many
    assert decrypts.calls - opened <= attack
    # from other addresses a session's data is not even opened
    assert decrypts.calls - opened == 201
    assert bob.channel.dropped["from another address than its session's"] == 201 * len(ATTACKERS)
    bob.receive(sealed(alice, bob, chat(many)), ALICE, NOW)
    assert len(got) == many + 1


def test_initiations_from_one_address_beyond_the_rate_are_dropped_before_any_dh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    got: list[Message] = []
    bob, gate = bob_endpoint(got)
    stranger = SecureChannel(X25519PrivateKey.generate())
    ((initiation, _),) = seal_list(stranger, [b"x"], [(BOB, bob.channel.public)], NOW)
    opened = handshakes_counted(monkeypatch)
    extra = 500
    for _ in range(int(PEER_BURST) + extra):
        bob.receive(initiation, ATTACKERS[0], NOW)
    assert gate.dropped == extra
    assert opened[0] <= PEER_BURST
    assert not got


def test_while_lagging_each_key_is_bounded_and_another_keys_messages_still_come() -> None:
    got: list[Message] = []
    bob, gate = bob_endpoint(got)
    alice, decrypts = session_with_bob(bob)
    bob.lagging = True  # a drain stopped short with more waiting: the socket lags
    many = int(PEER_BURST) + 500
    for n in range(many):
        bob.receive(sealed(alice, bob, chat(n)), ALICE, NOW)
    assert len(got) == PEER_BURST and gate.dropped == 500  # opened, not decoded
    assert decrypts.calls >= many
    carol, _ = session_with_bob(bob, at=ATTACKERS[0])
    bob.receive(sealed(carol, bob, chat(many)), ATTACKERS[0], NOW)
    assert len(got) == PEER_BURST + 1  # another key's message comes through the flood
    bob.lagging = False  # caught up: no key is counted
    bob.receive(sealed(alice, bob, chat(many + 1)), ALICE, NOW)
    assert len(got) == PEER_BURST + 2


def test_data_naming_no_live_session_is_dropped_by_its_header_from_any_address() -> None:
    got: list[Message] = []
    bob, gate = bob_endpoint(got)
    _, decrypts = session_with_bob(bob)
    opened = decrypts.calls
    junk = [bytes((DATA,)) + os.urandom(60) for _ in range(int(PEER_BURST) + 100)]
    for addr in ATTACKERS:
        for datagram in junk:
            bob.receive(datagram, addr, NOW)
    assert not got and decrypts.calls == opened  # nothing opened: no session is named
    assert bob.channel.dropped["no such session"] == len(junk) * len(ATTACKERS)
    # the junk took nothing of an address's allowance: its first handshake is still opened
    stranger = SecureChannel(X25519PrivateKey.generate())
    ((initiation, _),) = seal_list(stranger, [b"x"], [(BOB, bob.channel.public)], NOW)
    drops = bob.channel.dropped.total()
    bob.receive(initiation, ATTACKERS[0], NOW)
    assert gate.dropped == 0 and bob.channel.dropped.total() == drops
