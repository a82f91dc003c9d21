"""`SecureChannel.seal_many`: what a registry relays, sealed for many members in one call.
Each datagram is the DATA datagram `seal` makes, byte for byte (a Noise transport message
under that member's session); a member without a session fit to send on goes through
`seal` itself."""

from __future__ import annotations

import struct

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from secure import channel as secure
from secure.channel import DATA, REKEY_AFTER, SecureChannel
from secure.noise import nonce_bytes

Addr = tuple[str, int]
#: A DATA datagram's header (docs/PROTOCOL.md): its kind, the receiver's index, the counter.
HEADER = struct.Struct("<BIQ")
REG = ("10.0.0.1", 5000)


def _registry() -> SecureChannel:
    key = X25519PrivateKey.generate()
    return SecureChannel(key, answers_key_requests=True, rehandshakes_on_silence=False)


def _carry(
    registry: SecureChannel, peer: SecureChannel, at: Addr, packets: list, now: float
) -> None:
    """Carry `packets` (from the peer at `at`) and every answer, until none is left."""
    queue = [(packet, to, at) for packet, to in packets]
    while queue:
        packet, to, frm = queue.pop(0)
        if to == REG:
            queue += [(p, t, REG) for p, t in registry.open(packet, frm, now).send]
        else:
            queue += [(p, t, at) for p, t in peer.open(packet, REG, now).send]


def _members(registry: SecureChannel, count: int, now: float = 0.0) -> list:
    """`count` peers that registered (their handshake made, their first data opened)."""
    members = []
    for i in range(count):
        peer, at = (
            SecureChannel(X25519PrivateKey.generate()),
            (f"10.0.{i // 250}.{i % 250 + 2}", 6000 + i),
        )
        _carry(registry, peer, at, peer.seal(b"register", REG, registry.public, now), now)
        members.append((peer, at))
    return members


def _expected(peer: SecureChannel, data: bytes, counter: int) -> bytes:
    """The DATA datagram the registry's session with `peer` makes of `data` at `counter`,
    from the peer's own copy of that session's key."""
    [session] = peer.sessions_at(REG)
    header = HEADER.pack(DATA, session.local, counter)
    return header + session.receiving.encrypt(nonce_bytes(counter), data, header)


def test_each_members_datagram_is_the_one_seal_makes_byte_for_byte() -> None:
    registry = _registry()
    members = _members(registry, 3)
    dests = [(at, peer.public) for peer, at in members]
    sealed = registry.seal_many(b"a line for all", dests, 1.0)
    assert sealed == [(_expected(peer, b"a line for all", 0), at) for peer, at in members]
    # the next send to one of them, by `seal`, takes the next counter of the same session
    peer, at = members[1]
    assert registry.seal(b"then one", at, peer.public, 1.0) == [
        (_expected(peer, b"then one", 1), at)
    ]
    for (packet, _), (peer, _at) in zip(sealed, members, strict=True):
        assert peer.open(packet, REG, 1.0).data == b"a line for all"


def test_a_member_without_a_session_fit_to_send_on_goes_through_seal() -> None:
    registry = _registry()
    members = _members(registry, 2)
    stranger, far = SecureChannel(X25519PrivateKey.generate()), ("10.0.1.9", 7000)
    dests = [(members[0][1], members[0][0].public), (far, stranger.public)]
    dests.append((members[1][1], members[1][0].public))
    sealed = registry.seal_many(b"hello", dests, 2.0)
    # the stranger: an initiation, its data waiting for the response, between the others
    assert [packet[0] for packet, _ in sealed] == [DATA, secure.INITIATION, DATA]
    assert [to for _, to in sealed] == [members[0][1], far, members[1][1]]
    # a session past REKEY_AFTER: sent on, and a new handshake begun, as `seal` does
    old = registry.seal_many(b"late", dests[:1], REKEY_AFTER + 1.0)
    assert [packet[0] for packet, _ in old] == [DATA, secure.INITIATION]
    assert old[0] == (_expected(members[0][0], b"late", 1), members[0][1])
