"""The secure channel's handshakes against a flood, as WireGuard holds them: a captured
initiation from any address, datagrams without a valid mac1, spoofed sources under load
(cookies), one address's budget, many strangers' handshakes against busy sessions, and the
new handshakes of senders whose session works, under load."""

from __future__ import annotations

import itertools

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from secure import channel as secure
from secure import noise, sessions
from secure.channel import (
    COOKIE_REPLY,
    DATA,
    HANDSHAKE_RETRY,
    INITIATION,
    REHANDSHAKE_AFTER,
    RESPONSE,
    WORKS_FOR,
    SecureChannel,
)
from secure.cookie import LOAD_BURST, SOURCE_BURST, UNDER_LOAD_FOR
from tests.datagrams import seal_list
from tests.hypothesis_profiles import examples
from tests.net.test_secure import A, B, Pair

Out = list[tuple[bytes, tuple[str, int]]]


def _spoofed(i: int) -> tuple[str, int]:
    return f"10.1.{i >> 8 & 255}.{i & 255}", 20_000 + i


@pytest.fixture
def dh_count(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many Diffie-Hellmans the channels do from here on (one item per DH)."""
    done: list[int] = []
    real = noise.dh

    def counted(private: X25519PrivateKey, public: bytes) -> bytes:
        done.append(1)
        return real(private, public)

    monkeypatch.setattr(noise, "dh", counted)
    return done


def _kinds(out: Out) -> list[int]:
    return [packet[0] for packet, _ in out]


def _load(channel: SecureChannel, initiation: bytes, now: float) -> None:
    """Put `channel` under load: a burst of replays of `initiation` from spoofed sources."""
    for i in range(int(LOAD_BURST) + 1):
        channel.open(initiation, _spoofed(i), now)


def test_a_captured_initiation_is_answered_once_from_any_number_of_addresses() -> None:
    pair = Pair()
    [(initiation, _)] = pair.send("alice", b"hello", 0.0)
    assert _kinds(pair.bob.open(initiation, A, 0.0).send) == [RESPONSE]
    # replayed from 200 addresses, slowly enough that bob is never under load
    answers = [pair.bob.open(initiation, _spoofed(i), 1.0 + i / 10).send for i in range(200)]
    assert answers == [()] * 200
    assert pair.bob.dropped["replayed handshake"] == 200


def test_a_datagram_without_a_valid_mac1_costs_no_diffie_hellman(dh_count: list[int]) -> None:
    pair = Pair()
    [(initiation, _)] = pair.send("alice", b"hello", 0.0)
    del dh_count[:]
    # every byte but the kind, and but mac2, flipped in turn (mac2 is checked under load)
    for i in range(1, len(initiation) - 16):
        altered = bytearray(initiation)
        altered[i] ^= 0x01
        opened = pair.bob.open(bytes(altered), A, i / 10)
        assert opened.dropped == "bad mac1" and not opened.send
    assert dh_count == []
    # a response likewise, its indexes aside (they name no handshake)
    [(response, _)] = pair.bob.open(initiation, A, 20.0).send
    del dh_count[:]
    for i in range(5, len(response)):
        altered = bytearray(response)
        altered[i] ^= 0x01
        assert pair.alice.open(bytes(altered), B, 20.0).dropped == "bad mac1"
    assert dh_count == []
    # the real one still completes the handshake
    assert pair.alice.open(response, B, 20.0).key == pair.bob.public


def test_under_load_an_initiation_without_mac2_gets_a_cookie_reply_and_costs_no_dh(
    dh_count: list[int],
) -> None:
    pair = Pair()
    mallory = SecureChannel(X25519PrivateKey.generate())
    [(captured, _)] = seal_list(mallory, [b""], [(B, pair.bob.public)], 0.0)
    _load(pair.bob, captured, 0.0)
    [(initiation, _)] = pair.send("alice", b"hello", 0.0)
    del dh_count[:]
    [(reply, to)] = pair.bob.open(initiation, A, 0.0).send
    assert reply[0] == COOKIE_REPLY and to == A and dh_count == []
    assert len(reply) < len(initiation)  # no amplification: 61 bytes for 145
    # alice keeps the cookie; as "hello" waits, a new initiation bearing its mac2 goes at once
    opened = pair.alice.open(reply, B, 0.0)
    again = opened.send
    assert _kinds(again) == [INITIATION]
    assert opened.under_load == pair.bob.public and opened.key == b""  # bob runs: no session
    pair.deliver(again, 0.0)
    assert pair.got["bob"] == [(b"hello", pair.alice.public)]


def test_a_cookie_reply_makes_one_initiation_at_once_at_most() -> None:
    # whoever saw alice's initiation can make cookie replies to it: they make her send one
    # more initiation at once, then none before her usual retry
    pair = Pair()
    [(captured, _)] = seal_list(
        SecureChannel(X25519PrivateKey.generate()), [b""], [(B, pair.bob.public)], 0
    )
    _load(pair.bob, captured, 0.0)
    [(initiation, _)] = pair.send("alice", b"hello", 0.0)
    [(reply, _)] = pair.bob.open(initiation, A, 0.0).send
    [(second, _)] = pair.alice.open(reply, B, 0.0).send
    assert second[0] == INITIATION
    assert pair.alice.open(reply, B, 0.0).send == ()  # a copy
    [(reply_again, _)] = pair.bob.open(second, ("10.9.9.9", 9), 0.0).send  # a new cookie
    assert reply_again[0] == COOKIE_REPLY
    assert pair.alice.open(reply_again, B, 0.0).send == ()  # she has one already


def test_a_cookie_is_good_from_the_address_it_was_sent_to_only() -> None:
    pair = Pair()
    [(captured, _)] = seal_list(
        SecureChannel(X25519PrivateKey.generate()), [b""], [(B, pair.bob.public)], 0
    )
    _load(pair.bob, captured, 0.0)
    [(reply, _)] = pair.bob.open(pair.send("alice", b"x", 0.0)[0][0], A, 0.0).send
    [(with_mac2, _)] = pair.alice.open(reply, B, 0.0).send
    # from any other address it is asked for a cookie again, and makes no session
    for i in range(50):
        assert _kinds(pair.bob.open(with_mac2, _spoofed(i), 0.5).send) == [COOKIE_REPLY]
    assert _kinds(pair.bob.open(with_mac2, A, 0.5).send) == [RESPONSE]


def test_a_cookie_reply_opens_only_for_the_initiation_it_answers() -> None:
    pair = Pair()
    [(captured, _)] = pair.send("alice", b"", 0.0)
    _load(pair.bob, captured, 0.0)
    carol = SecureChannel(X25519PrivateKey.generate())
    [(hers, _)] = seal_list(carol, [b""], [(B, pair.bob.public)], 0.0)
    [(reply, _)] = pair.bob.open(hers, A, 0.0).send  # carol's, sent to alice's address
    [(initiation, _)] = pair.send("alice", b"x", 0.5)
    # another initiation's reply, moved onto alice's index: its mac1 is not hers
    moved = reply[:1] + initiation[1:5] + reply[5:]
    assert pair.alice.open(moved, B, 0.5).dropped == "does not open"
    assert pair.alice.open(reply, B, 0.5).dropped == "no such handshake"
    altered = moved[:-1] + bytes([moved[-1] ^ 1])
    assert pair.alice.open(altered, B, 0.5).dropped == "does not open"


def test_under_load_each_address_gets_a_budget_of_handshakes() -> None:
    bob = SecureChannel(X25519PrivateKey.generate())
    [(captured, _)] = seal_list(
        SecureChannel(X25519PrivateKey.generate()), [b""], [(B, bob.public)], 0.0
    )
    _load(bob, captured, 0.0)
    # ten programs of one machine, each with a key and a port of its own and a cookie
    answered = []
    for port in range(10):
        addr = ("10.0.0.9", 7000 + port)
        them = SecureChannel(X25519PrivateKey.generate())
        [(first, _)] = seal_list(them, [b""], [(B, bob.public)], 0.0)
        [(reply, _)] = bob.open(first, addr, 0.0).send
        [(second, _)] = them.open(reply, B, 0.0).send
        answered += _kinds(bob.open(second, addr, 0.0).send)
    assert answered == [RESPONSE] * int(SOURCE_BURST)
    assert bob.dropped["under load: its address is over its handshake budget"] == 10 - SOURCE_BURST


def test_the_load_ends_a_second_after_the_flood() -> None:
    pair = Pair()
    [(captured, _)] = seal_list(
        SecureChannel(X25519PrivateKey.generate()), [b""], [(B, pair.bob.public)], 0
    )
    _load(pair.bob, captured, 0.0)
    [(initiation, _)] = pair.send("alice", b"x", UNDER_LOAD_FOR + 0.1)
    assert _kinds(pair.bob.open(initiation, A, UNDER_LOAD_FOR + 0.1).send) == [RESPONSE]


def test_strangers_handshakes_push_out_idle_peers_not_busy_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Busy: heard from. What is sent to a peer keeps it no longer (a relay's seals)."""
    monkeypatch.setattr(sessions, "MAX_PEERS", 10)
    pair = Pair()
    carol = SecureChannel(X25519PrivateKey.generate())
    C = ("10.0.0.3", 6003)
    for who, at in ((carol, C), (pair.alice, A)):
        for packet, _ in seal_list(who, [b"hi"], [(B, pair.bob.public)], 0.0):
            for answer, _ in pair.bob.open(packet, at, 0.0).send:
                for data, _ in who.open(answer, B, 0.0).send:
                    pair.bob.open(data, at, 0.0)
    # 40 strangers' handshakes, one every 0.1 s; alice talks to bob all along, carol not
    times = itertools.count(0.1, 0.1)
    for i in range(40):
        now = next(times)
        stranger = SecureChannel(X25519PrivateKey.generate())
        [(initiation, _)] = seal_list(stranger, [b""], [(B, pair.bob.public)], now)
        assert pair.bob.open(initiation, _spoofed(i), now).send
        [(data, _)] = seal_list(pair.alice, [b"still here"], [(B, pair.bob.public)], now)
        assert pair.bob.open(data, A, now).data == b"still here"
        seal_list(pair.bob, [b"news"], [(C, carol.public)], now)  # carol never answers
    [(late, _)] = seal_list(carol, [b"still here?"], [(B, pair.bob.public)], next(times))
    assert pair.bob.open(late, C, 5.0).dropped == "no such session"  # carol was idle


def test_secure_keeps_the_sizes_it_says() -> None:
    pair = Pair()
    [(initiation, _)] = pair.send("alice", b"", 0.0)
    [(response, _)] = pair.bob.open(initiation, A, 0.0).send
    assert len(initiation) == secure.INITIATION_SIZE == 145
    assert len(response) == secure.RESPONSE_SIZE == 73
    assert secure.COOKIE_REPLY_SIZE == 61


@settings(max_examples=examples(50), deadline=None)
@given(st.binary(max_size=200), st.integers(0, 144), st.integers(0, 255))
def test_under_load_no_answer_is_larger_than_what_it_answers(
    junk: bytes, position: int, flip: int
) -> None:
    bob = SecureChannel(X25519PrivateKey.generate(), answers_key_requests=True)
    [(captured, _)] = seal_list(
        SecureChannel(X25519PrivateKey.generate()), [b""], [(B, bob.public)], 0.0
    )
    _load(bob, captured, 0.0)
    altered = bytearray(captured)
    altered[position] ^= flip
    for datagram in (junk, bytes(altered), bytes([INITIATION]) + junk):
        for packet, _ in bob.open(datagram, A, 0.5).send:
            assert len(packet) < len(datagram)


def test_under_load_an_initiation_from_an_address_whose_session_works_costs_nothing(
    dh_count: list[int],
) -> None:
    # a join storm: the registry answers slower than REHANDSHAKE_AFTER, so each peer whose
    # session works makes a new handshake at each silence, a full one for the registry
    pair = Pair()
    pair.deliver(pair.send("alice", b"register", 0.0), 0.0)
    pair.deliver(pair.send("bob", b"busy", 0.05), 0.05)  # bob holds the session: it works
    [(captured, _)] = seal_list(
        SecureChannel(X25519PrivateKey.generate()), [b""], [(B, pair.bob.public)], 0
    )
    # (sent REHANDSHAKE_AFTER after she heard bob: not an answer, it begins a silence)
    out = pair.send("alice", b"again", 0.52)
    out += pair.send("alice", b"again", 0.52 + REHANDSHAKE_AFTER + 0.01)
    [initiation] = [packet for packet, _ in out if packet[0] == INITIATION]
    _load(pair.bob, captured, 1.0)
    del dh_count[:]
    opened = pair.bob.open(initiation, A, 1.0)
    assert opened.send == () and dh_count == []
    assert opened.dropped == "under load: a session at its address works"
    # what she sent goes on in the session that works
    pair.deliver([(p, to) for p, to in out if p[0] == DATA], 1.0)
    assert pair.got["bob"][-2:] == [(b"again", pair.alice.public)] * 2
    # from another address, or once nothing opened from hers for WORKS_FOR: as ever
    assert _kinds(pair.bob.open(initiation, ("10.9.9.9", 9), 1.0).send) == [COOKIE_REPLY]
    later = 1.0 + WORKS_FOR
    _load(pair.bob, captured, later)
    assert _kinds(pair.bob.open(initiation, A, later).send) == [COOKIE_REPLY]


def test_a_silences_new_handshake_answered_with_a_cookie_goes_again_with_the_next_copy() -> None:
    # a registry restarted under load answers a peer's new handshake with a cookie reply:
    # nothing waits for it, and the peer's next copy, 8 s on, makes it again with the cookie
    pair = Pair()
    pair.deliver(pair.send("alice", b"hi", 0.0), 0.0)
    pair.bob = SecureChannel(pair.bob.static, stamp=pair.stamp)  # bob restarted
    [(captured, _)] = seal_list(
        SecureChannel(X25519PrivateKey.generate()), [b""], [(B, pair.bob.public)], 0
    )
    pair.deliver(pair.send("alice", b"keepalive", 60.0), 60.0)  # no such session
    [initiation] = [p for p, _ in pair.send("alice", b"keepalive", 68.0) if p[0] == INITIATION]
    _load(pair.bob, captured, 68.0)
    [(reply, _)] = pair.bob.open(initiation, A, 68.0).send
    assert reply[0] == COOKIE_REPLY and pair.alice.open(reply, B, 68.0).send == ()
    again = pair.send("alice", b"keepalive", 76.0)
    assert INITIATION in _kinds(again)
    _load(pair.bob, captured, 76.0)
    pair.deliver(again, 76.0)  # its cookie lets it through: a session
    pair.deliver(pair.send("alice", b"keepalive", 84.0), 84.0)
    assert [data for data, _ in pair.got["bob"]] == [b"hi", b"keepalive"]


def test_an_initiation_answered_late_with_a_cookie_is_not_sent_again_sooner() -> None:
    # a registry under load answers with a cookie reply 0.6 s late: the initiation that
    # bears its cookie waits twice that for its answer before it goes again
    pair = Pair()
    [(captured, _)] = seal_list(
        SecureChannel(X25519PrivateKey.generate()), [b""], [(B, pair.bob.public)], 0
    )
    _load(pair.bob, captured, 0.0)
    [(first, _)] = pair.send("alice", b"register", 0.0)
    [(cookie_reply, _)] = pair.bob.open(first, A, 0.6).send
    [(bearing, _)] = pair.alice.open(cookie_reply, B, 0.6).send  # at once, with the cookie
    assert bearing[0] == INITIATION
    assert 0.6 + 2 * HANDSHAKE_RETRY < 1.8  # what the wait was before
    assert pair.send("alice", b"copy", 0.6 + 2 * HANDSHAKE_RETRY) == []
    assert pair.send("alice", b"copy", 1.75) == []
    assert _kinds(pair.send("alice", b"copy", 1.8)) == [INITIATION]


def test_a_key_answer_after_a_lost_initiation_makes_one_again_at_once() -> None:
    # first contact on a lossy network: the key request sent after an initiation is
    # answered, the initiation is not (the network lost it or its response)
    registry = SecureChannel(X25519PrivateKey.generate(), answers_key_requests=True)
    peer = SecureChannel(X25519PrivateKey.generate())
    asked_first = peer.ask_key(B)  # (first contact asks before it sends anything)
    [(_lost, _)] = seal_list(peer, [b"register"], [(B, registry.public)], 0.0)
    [(early, _)] = registry.open(asked_first, A, 0.0).send
    assert not peer.open(early, B, 0.0).send  # asked before the initiation went: nothing
    assert seal_list(peer, [b"register"], [(B, registry.public)], 0.3) == []  # its retry waits
    [(answer, _)] = registry.open(peer.ask_key(B), A, 0.3).send
    [(again, _)] = peer.open(answer, B, 0.3).send
    assert again[0] == INITIATION
    assert not peer.open(answer, B, 0.3).send  # one per key request
    [(response, _)] = registry.open(again, A, 0.3).send
    sent = peer.open(response, B, 0.3).send  # what waited goes
    assert [registry.open(data, A, 0.3).data for data, _ in sent] == [b"register"] * 2


def test_an_initiation_with_our_mac1_that_does_not_open_is_logged_as_another_version() -> None:
    # an older ChatApp's initiation: it knew our key (mac1), but its Noise is not ours
    from secure import cookie

    pair = Pair()
    [(initiation, _)] = pair.send("alice", b"", 0.0)
    body = initiation[:5] + bytes([initiation[5] ^ 1]) + initiation[6 : -cookie.MACS_SIZE]
    other = body + cookie.mac(cookie.mac1_key(pair.bob.public), body) + bytes(cookie.MAC_SIZE)
    dropped = pair.bob.open(other, A, 0.0).dropped
    assert dropped == "handshake does not open: another version of ChatApp?"


def test_a_key_answer_naming_another_protocol_makes_no_initiation() -> None:
    # a registry of an older ChatApp answers its key alone: its channel cannot open ours,
    # so the answer shows nothing lost (the peer says versions differ: KeyChecks)
    registry = SecureChannel(X25519PrivateKey.generate(), answers_key_requests=True)
    peer = SecureChannel(X25519PrivateKey.generate())
    seal_list(peer, [b"register"], [(B, registry.public)], 0.0)
    [(answer, _)] = registry.open(peer.ask_key(B), A, 0.3).send
    older = peer.open(answer[:33], B, 0.3)
    assert older.learned == registry.public and not older.send
    assert not peer.open(answer[:33] + b"Noise_IK_25519_ChaChaPoly_SHA256", B, 0.3).send
    assert peer.open(answer, B, 0.3).send  # (ours, the initiation lost: one again at once)


def test_a_key_answer_in_a_silence_makes_an_initiation_at_once_a_restarted_side_answers() -> None:
    # the registry restarted while the peer's session lived: its data is dropped there, and
    # the silence's one new handshake went while it was down. Its key, answered, shows it
    # back: a new handshake goes at once, not at the silence's next (UNANSWERED_STALE on)
    static = X25519PrivateKey.generate()
    registry = SecureChannel(static, answers_key_requests=True)
    peer = SecureChannel(X25519PrivateKey.generate())
    [(initiation, _)] = seal_list(peer, [b"register"], [(B, registry.public)], 0.0)
    [(response, _)] = registry.open(initiation, A, 0.0).send
    [(register, _)] = peer.open(response, B, 0.0).send
    registry.open(register, A, 0.0)
    [(welcome, _)] = seal_list(registry, [b"welcome"], [(A, peer.public)], 0.0)
    assert peer.open(welcome, B, 0.0).data == b"welcome"
    registry = SecureChannel(static, answers_key_requests=True)  # killed, started again
    assert _kinds(seal_list(peer, [b"keepalive"], [(B, registry.public)], 10.0)) == [
        DATA
    ]  # a silence
    assert INITIATION in _kinds(
        seal_list(peer, [b"keepalive"], [(B, registry.public)], 10.5)
    )  # lost
    for at in (11.5, 13.5, 15.5):
        assert INITIATION not in _kinds(seal_list(peer, [b"keepalive"], [(B, registry.public)], at))
    [(answer, _)] = registry.open(peer.ask_key(B), A, 16.0).send
    [(again, _)] = peer.open(answer, B, 16.0).send
    [(response, _)] = registry.open(again, A, 16.0).send
    peer.open(response, B, 16.0)
    [(data, _)] = seal_list(peer, [b"register"], [(B, registry.public)], 16.1)
    assert registry.open(data, A, 16.1).data == b"register"


def test_a_key_answer_makes_no_initiation_once_the_responder_said_it_is_under_load() -> None:
    registry = SecureChannel(X25519PrivateKey.generate(), answers_key_requests=True)
    peer = SecureChannel(X25519PrivateKey.generate())
    [(captured, _)] = seal_list(
        SecureChannel(X25519PrivateKey.generate()), [b""], [(B, registry.public)], 0
    )
    _load(registry, captured, 0.0)
    [(initiation, _)] = seal_list(peer, [b"register"], [(B, registry.public)], 0.0)
    [(reply, _)] = registry.open(initiation, A, 0.0).send
    [(_lost, _)] = peer.open(reply, B, 0.0).send  # the one with the cookie: lost
    [(answer, _)] = registry.open(peer.ask_key(B), A, 0.1).send
    assert not peer.open(answer, B, 0.1).send  # its usual retry: the responder is busy


def test_a_session_completed_by_an_older_answer_still_opens_at_the_responder() -> None:
    # found on a lossy simulated network: each silence of alice's made a new handshake,
    # bob answered each, and only the first answer reached her; bob kept its working
    # session and the two newest, so the one she completed was gone and all she sent on
    # it was dropped ("no such session") until she was taken offline
    pair = Pair()
    pair.deliver(pair.send("alice", b"hi", 0.0), 0.0)
    pair.deliver(pair.send("bob", b"hello", 0.5), 0.5)  # the session works both ways
    answers = []
    for now in (10.0, 20.0, 30.0):  # a silence each: its second send makes an initiation
        pair.deliver(pair.send("alice", b"still here?", now - 3.0), now - 3.0)
        sent = pair.send("alice", b"still here?", now)
        [initiation] = [p for p, _ in sent if p[0] == INITIATION]
        [(answer, _)] = pair.bob.open(initiation, A, now).send
        answers.append(answer)  # lost on its way, for now
        pair.deliver(pair.send("bob", b"yes", now + 0.1), now + 0.1)  # alice hears bob
    assert not pair.alice.open(answers[0], B, 31.0).send  # the first answer, late
    pair.deliver(pair.send("alice", b"on the session it made", 31.0), 31.0)
    assert pair.got["bob"][-1][0] == b"on the session it made"
    assert pair.bob.dropped["no such session"] == 0
