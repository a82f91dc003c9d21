"""The datagram secure channel: two SecureChannels talking through a list of datagrams,
and an attacker who captures, replays, alters and forges them."""

from __future__ import annotations

import itertools
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from secure import channel as secure
from secure.channel import (
    DATA,
    HANDSHAKE_RETRY,
    HANDSHAKE_RETRY_MAX,
    KEY_ANSWER,
    KEY_REQUEST_SIZE,
    REJECT_AFTER,
    REKEY_AFTER,
    SLOW_WAIT_MAX,
    SecureChannel,
)
from secure.noise import CHANNEL_PROTOCOL, nonce_bytes
from tests.datagrams import seal_list
from tests.hypothesis_profiles import examples
from wire.limits import MAX_DATAGRAM
from wire.reliable import RTO_MAX, SOONEST_RETRY

A = ("10.0.0.1", 6001)
B = ("10.0.0.2", 6002)


class Pair:
    """Alice and Bob with a secure channel each; `deliver` carries datagrams across."""

    def __init__(self) -> None:
        self.clock = 0
        self.alice = SecureChannel(X25519PrivateKey.generate(), stamp=self.stamp)
        self.bob = SecureChannel(X25519PrivateKey.generate(), stamp=self.stamp)
        self.wire: list[tuple[bytes, tuple[str, int]]] = []  # everything that crossed
        self.got: dict[str, list[tuple[bytes, bytes]]] = {"alice": [], "bob": []}

    def stamp(self) -> int:
        self.clock += 1
        return 1_700_000_000_000_000_000 + self.clock

    def send(self, frm: str, data: bytes, now: float = 0.0) -> list[tuple[bytes, tuple]]:
        sender = self.alice if frm == "alice" else self.bob
        other = self.bob if frm == "alice" else self.alice
        to = B if frm == "alice" else A
        return seal_list(sender, [data], [(to, other.public)], now)

    def deliver(self, packets: list[tuple[bytes, tuple]], now: float = 0.0) -> None:
        """Carry `packets` and every answer they cause, until nothing is left."""
        queue = list(packets)
        while queue:
            packet, to = queue.pop(0)
            self.wire.append((packet, to))
            name = "bob" if to == B else "alice"
            channel = self.bob if to == B else self.alice
            frm = A if to == B else B
            opened = channel.open(packet, frm, now)
            if opened.data is not None:
                self.got[name].append((opened.data, opened.key))
            queue.extend(opened.send)


def test_a_datagram_opens_with_the_senders_key_and_carries_nothing_in_clear() -> None:
    pair = Pair()
    pair.deliver(pair.send("alice", b"my bank PIN is 1234"))
    assert pair.got["bob"] == [(b"my bank PIN is 1234", pair.alice.public)]
    assert all(b"1234" not in packet for packet, _ in pair.wire)
    # handshake, then data: the first send made an initiation and waited for the response
    assert [p[0] for p, _ in pair.wire] == [secure.INITIATION, secure.RESPONSE, DATA]


def test_one_seal_carries_each_datagram_to_each_key_a_keys_back_to_back() -> None:
    """A relay seals the same datagrams for many keys at once, each key's in order under its
    own session; two keys at one address are two peers, each sent its own."""
    pair = Pair()
    carol = SecureChannel(X25519PrivateKey.generate(), stamp=pair.stamp)
    pair.deliver(pair.send("alice", b"hi"))  # a session with bob at B
    out = seal_list(pair.alice, [b"one", b"two"], [(B, pair.bob.public), (B, carol.public)], 1.0)
    assert [p[0] for p, _ in out] == [DATA, DATA, secure.INITIATION]  # none with carol yet
    assert [pair.bob.open(p, A, 1.0).data for p, _ in out[:2]] == [b"one", b"two"]
    [(response, _)] = carol.open(out[2][0], A, 1.0).send
    waited = pair.alice.open(response, B, 1.0).send
    assert [carol.open(p, A, 1.0).data for p, _ in waited] == [b"one", b"two"]
    [(again, _)] = seal_list(pair.alice, [b"three"], [(B, pair.bob.public)], 1.0)
    assert pair.bob.open(again, A, 1.0).data == b"three"


def test_data_is_sealed_under_the_noise_nonce_of_its_counter_its_header_bound() -> None:
    """The DATA datagram of docs/PROTOCOL.md, as an older ChatApp opens it: kind, index and
    counter (little-endian), then AESGCM under noise's nonce of that counter, the header bound."""
    pair = Pair()
    pair.deliver(pair.send("alice", b"hi"))
    (session,) = pair.bob.sessions_at(A)
    for n, text in enumerate([b"one", b"two", b"three"], start=1):
        [(packet, _)] = pair.send("alice", text)
        kind, index, counter = struct.unpack_from("<BIQ", packet)
        assert (kind, index, counter) == (DATA, session.local, n)
        assert session.receiving.decrypt(nonce_bytes(counter), packet[13:], packet[:13]) == text


def test_once_a_session_is_made_each_send_is_one_datagram_both_ways() -> None:
    pair = Pair()
    pair.deliver(pair.send("alice", b"hi"))
    first = len(pair.wire)
    pair.deliver(pair.send("bob", b"ack"))
    pair.deliver(pair.send("alice", b"again"))
    assert len(pair.wire) == first + 2
    assert pair.got["alice"] == [(b"ack", pair.bob.public)]


def test_a_replayed_datagram_shows_nothing() -> None:
    pair = Pair()
    pair.deliver(pair.send("alice", b"hello"))
    for packet, to in list(pair.wire):
        opened = (pair.bob if to == B else pair.alice).open(packet, A, 1.0)
        assert opened.data is None
    assert pair.got["bob"] == [(b"hello", pair.alice.public)]


def test_a_replay_after_the_receiver_restarted_opens_under_no_session() -> None:
    pair = Pair()
    pair.deliver(pair.send("alice", b"hello"))
    bob_again = SecureChannel(pair.bob.static)
    for packet, _ in pair.wire:
        opened = bob_again.open(packet, A, 0.0)
        assert opened.data is None
    # the replayed initiation is answered (it cannot be told from a new one), but the
    # session it makes is never confirmed: bob sends nothing under it
    assert bob_again.dropped["no such session"] == 1


def test_a_replay_a_day_later_opens_under_no_session() -> None:
    pair = Pair()
    pair.deliver(pair.send("alice", b"hello"))
    data = [p for p, to in pair.wire if p[0] == DATA and to == B]
    opened = pair.bob.open(data[0], A, 86_400.0)
    assert opened.data is None and opened.dropped == "no such session"


def test_every_altered_byte_is_dropped() -> None:
    pair = Pair()
    pair.deliver(pair.send("alice", b"hello bob"))
    data = next(p for p, to in pair.wire if p[0] == DATA)
    pair2_bob_drops = 0
    for i in range(len(data)):
        altered = bytearray(data)
        altered[i] ^= 0x01
        opened = pair.bob.open(bytes(altered), A, 0.0)
        assert opened.data is None and not opened.send
        pair2_bob_drops += 1
    assert sum(pair.bob.dropped.values()) >= pair2_bob_drops


def test_a_forger_with_a_key_of_its_own_is_known_by_it() -> None:
    pair = Pair()
    mallory = SecureChannel(X25519PrivateKey.generate())
    out = seal_list(mallory, [b"from alice, honest"], [(B, pair.bob.public)], 0.0)
    queue = list(out)
    got = []
    while queue:
        packet, to = queue.pop(0)
        target = pair.bob if to == B else mallory
        opened = target.open(packet, A if to == B else B, 0.0)  # even from alice's address
        if opened.data is not None:
            got.append(opened.key)
        queue.extend(opened.send)
    assert got == [mallory.public]


def test_a_key_request_is_answered_smaller_only_by_a_registry() -> None:
    registry = SecureChannel(X25519PrivateKey.generate(), answers_key_requests=True)
    peer = SecureChannel(X25519PrivateKey.generate())
    request = peer.ask_key(A)
    assert len(request) == KEY_REQUEST_SIZE
    ((answer, to),) = registry.open(request, B, 0.0).send
    assert answer[0] == KEY_ANSWER and len(answer) < len(request) and to == B
    assert peer.open(answer, A, 0.0).learned == registry.public + CHANNEL_PROTOCOL
    # every answer from the address asked is handed over (a second key is an alarm at
    # first contact); an answer from an address nobody asked is dropped
    assert peer.open(answer, A, 0.0).learned == registry.public + CHANNEL_PROTOCOL
    assert peer.open(answer, B, 0.0).learned == b""
    # an older ChatApp's answer names no protocol: handed over, for the peer to say so
    assert peer.open(answer[:33], A, 0.0).learned == registry.public
    assert SecureChannel(X25519PrivateKey.generate()).open(request, B, 0.0).send == ()


def test_sessions_are_made_anew_after_rekey_after_and_refused_after_reject_after() -> None:
    pair = Pair()
    pair.deliver(pair.send("alice", b"one", 0.0), 0.0)
    out = pair.send("alice", b"two", REKEY_AFTER + 1)
    assert [p[0] for p, _ in out] == [DATA, secure.INITIATION]
    pair.deliver(out, REKEY_AFTER + 1)
    late = pair.send("alice", b"three", REJECT_AFTER + 2)
    pair.deliver(late, REJECT_AFTER + 2)
    assert [d for d, _ in pair.got["bob"]] == [b"one", b"two", b"three"]


def test_data_waits_for_the_handshake_and_a_lost_initiation_is_sent_again() -> None:
    pair = Pair()
    lost = pair.send("alice", b"one", 0.0)  # the initiation is lost
    assert [p[0] for p, _ in lost] == [secure.INITIATION]
    assert pair.send("alice", b"two", SOONEST_RETRY / 5) == []  # waits, no initiation yet
    again = pair.send("alice", b"three", SOONEST_RETRY)
    assert [p[0] for p, _ in again] == [secure.INITIATION]
    pair.deliver(again, SOONEST_RETRY)
    # "one" waited longer than QUEUE_FOR and was dropped: its sender's retry (SOONEST_RETRY on)
    # sends it again, and nothing arrives after its sender gave up on it
    assert [d for d, _ in pair.got["bob"]] == [b"two", b"three"]
    assert pair.alice.dropped["waited too long for a session"] == 1


def test_a_message_in_clear_is_said_to_be_one() -> None:
    channel = SecureChannel(X25519PrivateKey.generate())
    assert channel.open(b'{"t":"Register"}', A, 0.0).clear


@settings(max_examples=examples(300), deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_open_to_nothing_and_never_raise(data: bytes) -> None:
    channel = SecureChannel(X25519PrivateKey.generate(), answers_key_requests=True)
    opened = channel.open(data, A, 0.0)
    assert opened.data is None
    for packet, _ in opened.send:  # only a key request is answered, and smaller
        assert len(packet) < len(data)


@pytest.mark.parametrize("wait", [SOONEST_RETRY, RTO_MAX, RTO_MAX + 1.0])
def test_a_restarted_receiver_is_found_again_by_the_senders_first_retry(wait: float) -> None:
    # however long the sender waits between copies (up to RTO_MAX, a registry's that backed
    # off in a join storm, and sent late by a busy process)
    pair = Pair()
    pair.deliver(pair.send("alice", b"one", 0.0), 0.0)
    pair.bob = SecureChannel(pair.bob.static, stamp=pair.stamp)  # bob restarted
    pair.deliver(pair.send("alice", b"two", 60.0), 60.0)  # lost: bob has no such session
    assert [d for d, _ in pair.got["bob"]] == [b"one"]
    first, second = 60.0 + wait, 60.0 + 2 * wait  # the sender's retries
    retry = pair.send("alice", b"two", first)
    assert secure.INITIATION in [p[0] for p, _ in retry]
    pair.deliver(retry, first)  # the new session is made; this copy was sent in the old
    assert [d for d, _ in pair.got["bob"]] == [b"one"]
    pair.deliver(pair.send("alice", b"two", second), second)  # the next try, in the new one
    assert [d for d, _ in pair.got["bob"]] == [b"one", b"two"]


def test_of_initiations_answered_together_the_newest_makes_the_session() -> None:
    # a restarted registry tells a slow peer it is back: the peer answers three initiations
    # at once, and keeps only the newest session it answered (one being confirmed)
    pair = Pair()
    pair.deliver(pair.send("alice", b"one", 0.0), 0.0)
    pair.deliver(pair.send("bob", b"ack", 0.0), 0.0)
    pair.alice = SecureChannel(pair.alice.static, stamp=pair.stamp)  # alice restarted
    sent = [p for now in (10.0, 10.5, 11.5) for p in pair.send("alice", b"back", now)]
    assert _kinds(sent) == [secure.INITIATION] * 3
    responses = [r for packet, _ in sent for r in pair.bob.open(packet, A, 12.0).send]
    for packet, _ in responses:  # read in order
        pair.alice.open(packet, B, 12.5)
    pair.deliver(pair.send("alice", b"back", 13.0), 13.0)
    assert [d for d, _ in pair.got["bob"]] == [b"one", b"back"]


@pytest.mark.parametrize("pause", [RTO_MAX + 2.0, 60.0])
def test_a_conversation_that_paused_makes_no_new_handshake(pause: float) -> None:
    # bob's ack is never answered: sent as he heard alice, it began no silence (a peer's
    # keepalive, a few seconds after it acked a push of the registry's)
    pair = Pair()
    pair.deliver(pair.send("alice", b"hi", 0.0), 0.0)
    pair.deliver(pair.send("bob", b"ack", 0.1), 0.1)
    later = pair.send("bob", b"a new line", pause)
    assert [p[0] for p, _ in later] == [DATA]


def test_data_from_another_address_than_its_sessions_is_dropped() -> None:
    # a captured datagram sent on from a forged source, racing its original: what answers
    # it would go to that address
    pair = Pair()
    pair.deliver(pair.send("alice", b"hi"))
    [(data, _)] = pair.send("alice", b"again")
    opened = pair.bob.open(data, ("10.9.9.9", 9), 0.0)
    assert opened.data is None and opened.dropped == "from another address than its session's"
    assert pair.bob.open(data, A, 0.0).data == b"again"  # the original still opens


def test_a_response_from_another_address_than_its_initiations_makes_no_session() -> None:
    # the registries of a service share one key: an initiation to one, captured while it
    # waits (that registry slow or gone) and sent on to another from its sender's address,
    # is answered there; taken, the answer would make the session to use with the first
    # registry out of keys only the second holds, and cut the sender off from the first
    pair = Pair()
    twin = SecureChannel(X25519PrivateKey.from_private_bytes(pair.bob.static.private_bytes_raw()))
    [(initiation, to)] = pair.send("alice", b"hi")
    assert to == B
    [(response, _)] = twin.open(initiation, A, 0.0).send
    opened = pair.alice.open(response, ("10.0.0.3", 6002), 0.0)
    assert opened.key == b"" and opened.dropped == "no such handshake"
    pair.deliver([(initiation, B)])  # the registry it was for answers: the session is made
    assert pair.got["bob"] == [(b"hi", pair.alice.public)]


def test_a_key_no_handshake_can_use_is_not_sent_to_and_raises_nothing() -> None:
    channel = SecureChannel(X25519PrivateKey.generate())
    assert seal_list(channel, [b"hi"], [(B, bytes(32))], 0.0) == []  # the all-zero key: low order
    assert channel.dropped["not sent: a key no handshake can use"] == 1


def _kinds(packets: list[tuple[bytes, tuple]]) -> list[int]:
    return [p[0] for p, _ in packets]


def test_a_responder_slower_than_the_retry_still_completes_the_first_handshake() -> None:
    # a busy registry answered the first initiation after the second was sent: the answer
    # to the first still makes the session (each used to be forgotten as the next went
    # out, so no handshake slower than 0.4 s ever completed)
    pair = Pair()
    first = pair.send("alice", b"register", 0.0)
    second = pair.send("alice", b"register again", 0.5)
    assert _kinds(first) == _kinds(second) == [secure.INITIATION]
    answer = pair.bob.open(first[0][0], A, 0.6).send  # the first, answered late
    for packet, _ in answer:
        pair.alice.open(packet, B, 0.7)
    third = pair.send("alice", b"third try", 1.0)
    assert _kinds(third) == [DATA]  # in the session the late answer made
    pair.deliver(third, 1.0)
    assert [d for d, _ in pair.got["bob"]] == [b"third try"]


def test_unanswered_initiations_are_sent_again_ever_more_slowly() -> None:
    pair = Pair()
    sent_at = [
        now
        for now in [i / 10 for i in range(200)]  # a datagram every 100 ms for 20 s
        if secure.INITIATION in _kinds(pair.send("alice", b"x", now))
    ]
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    # HANDSHAKE_RETRY, then twice as long each time, up to HANDSHAKE_RETRY_MAX (each seen
    # at the next 100 ms tick)
    waits = [min(HANDSHAKE_RETRY * 2**k, HANDSHAKE_RETRY_MAX) for k in range(6)]
    for gap, wait in zip(gaps, waits, strict=False):
        assert wait - 0.01 <= gap <= wait + 0.11, gaps
    assert len(sent_at) < 9


def test_a_slow_side_that_answered_the_handshake_is_not_asked_again() -> None:
    # silence after a handshake it answered means busy, not restarted: one new handshake
    # for the silence, then none until data comes back
    pair = Pair()
    pair.deliver(pair.send("alice", b"hi", 0.0), 0.0)
    pair.deliver(pair.send("bob", b"ack", 0.0), 0.0)
    pair.deliver(pair.send("alice", b"request", 10.0), 10.0)
    retries = [10.0 + k * SOONEST_RETRY for k in range(1, 5)]
    again = pair.send("alice", b"request", retries[0])
    assert secure.INITIATION in _kinds(again)
    pair.deliver(again, retries[0])  # bob answers the handshake, but sends no data yet
    for now in retries[1:]:
        assert _kinds(pair.send("alice", b"request", now)) == [DATA]
    answered = retries[-1] + 0.1
    pair.deliver(pair.send("bob", b"answer", answered), answered)  # the silence is over
    pair.deliver(pair.send("alice", b"next", 20.0), 20.0)
    # bob's answer came on the session she had: he was slow, not restarted, and a new
    # silence makes a new handshake once twice as long as that one, up to SLOW_WAIT_MAX
    assert _kinds(pair.send("alice", b"next", 20.0 + SOONEST_RETRY)) == [DATA]
    assert secure.INITIATION in _kinds(pair.send("alice", b"next", 20.0 + SLOW_WAIT_MAX))


def test_a_silence_taken_for_a_restart_that_the_session_outlived_is_waited_out() -> None:
    # a registry in a join storm: alice's new handshake goes unanswered (under load, her
    # session works), and the answer comes late on the session she had
    pair = Pair()
    pair.deliver(pair.send("alice", b"hi", 0.0), 0.0)
    pair.deliver(pair.send("bob", b"ack", 0.0), 0.0)
    pair.deliver(pair.send("alice", b"register", 10.0), 10.0)
    again = pair.send("alice", b"register", 10.0 + SOONEST_RETRY)
    assert secure.INITIATION in _kinds(again)  # taken for a restart
    pair.deliver([(p, to) for p, to in again if p[0] == DATA], 10.5)
    pair.deliver(pair.send("bob", b"busy", 11.2), 11.2)  # 1.2 s after she asked
    pair.deliver(pair.send("alice", b"register", 20.0), 20.0)
    assert _kinds(pair.send("alice", b"copy", 20.0 + SOONEST_RETRY)) == [DATA]
    assert _kinds(pair.send("alice", b"copy", 22.35)) == [DATA]
    assert secure.INITIATION in _kinds(pair.send("alice", b"copy", 22.4))  # twice 1.2 s
    # and never longer than SLOW_WAIT_MAX
    pair.deliver(pair.send("bob", b"busy", 30.0), 30.0)
    pair.deliver(pair.send("alice", b"register", 40.0), 40.0)
    assert secure.INITIATION in _kinds(pair.send("alice", b"copy", 40.0 + SLOW_WAIT_MAX))


def test_the_wait_for_a_new_handshake_follows_how_slow_the_other_side_answered() -> None:
    # a registry in a join storm answers late but answers: its peers do not take each
    # silence as long as the last for a restart, nor resend initiations it will answer
    pair = Pair()
    [(first, _)] = pair.send("alice", b"register", 0.0)
    [(response, _)] = pair.bob.open(first, A, 1.0).send  # answered 1 s late
    pair.deliver([(response, A)], 1.0)
    pair.deliver(pair.send("bob", b"busy", 1.0), 1.0)
    pair.deliver(pair.send("alice", b"again", 5.0), 5.0)
    assert _kinds(pair.send("alice", b"copy", 5.0 + SOONEST_RETRY)) == [DATA]
    assert _kinds(pair.send("alice", b"copy", 6.9)) == [DATA]
    assert secure.INITIATION in _kinds(pair.send("alice", b"copy", 7.0))  # twice 1 s


def test_a_data_datagram_out_of_its_bounds_is_dropped_unopened() -> None:
    """DATA is opened without Noise's CipherState, so its bounds are kept here: the reserved
    last nonce is dropped, as CipherState would refuse it, and so is a datagram carrying
    more than a datagram's messages may (MAX_DATAGRAM), unopened."""
    pair = Pair()
    pair.deliver(pair.send("alice", b"hello"))
    [(packet, _)] = pair.send("alice", b"again")
    header = struct.Struct("<BIQ")  # data's 13-byte header (docs/PROTOCOL.md)
    _, index, _ = header.unpack_from(packet)
    last = header.pack(DATA, index, 2**64 - 1) + packet[header.size :]
    [(largest, _)] = pair.send("alice", bytes(MAX_DATAGRAM))
    assert pair.bob.open(last, A, 0.0).dropped == "does not open"
    assert pair.bob.open(largest + b"x", A, 0.0).dropped == "too long"
    assert pair.bob.open(packet, A, 0.0).data == b"again"  # the real one still opens
    assert pair.bob.open(largest, A, 0.0).data == bytes(MAX_DATAGRAM)
    with pytest.raises(ValueError, match=str(MAX_DATAGRAM)):
        seal_list(pair.alice, [bytes(MAX_DATAGRAM + 1)], [(B, pair.bob.public)], 0.0)
