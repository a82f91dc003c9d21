"""A relaying registry answers Busy to a copy of a request it handed over already and that
waits for its answer (registry/adapter/cluster/awaited.py): the peer stays, and the registry
that decides is not handed the copy."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from registry.adapter.cluster.awaited import AWAITED_KEPT, HAND_AGAIN, Awaited
from registry.adapter.cluster.follower import Follower
from registry.adapter.cluster.link import Outbound, pack, unpack_inbounds
from secure.noise import public_bytes
from wire.codec import encode
from wire.messages import Ack, Alive, Busy, Keepalive, Message, Register

pytestmark = pytest.mark.timeout(10)

ALICE, BOB = ("127.0.0.2", 6000), ("127.0.0.3", 6000)


def keepalive(msg_id: str = "k-1") -> Keepalive:
    return Keepalive(msg_id, "alice", "token")


def test_a_copy_waits_until_answered_then_goes_again() -> None:
    awaited = Awaited()
    assert awaited.waited(ALICE, keepalive(), 10.0) is None  # handed over
    assert awaited.waited(ALICE, keepalive(), 10.5) == 0.5  # a copy: Busy
    assert awaited.waited(BOB, keepalive(), 10.5) is None  # another peer's own id
    awaited.answered(ALICE, "k-1")
    assert awaited.waited(ALICE, keepalive(), 11.0) is None  # (a copy after the answer)


def test_a_copy_goes_again_after_hand_again_seconds_and_after_a_new_lead() -> None:
    awaited = Awaited()
    assert awaited.waited(ALICE, keepalive(), 0.0) is None
    assert awaited.waited(ALICE, keepalive(), HAND_AGAIN - 0.1) is not None
    assert awaited.waited(ALICE, keepalive(), HAND_AGAIN) is None  # perhaps lost: again
    awaited.clear()
    assert awaited.waited(ALICE, keepalive(), HAND_AGAIN + 0.1) is None


def test_answers_are_never_held_back() -> None:
    awaited = Awaited()
    for _ in range(3):
        assert awaited.waited(ALICE, Ack("a-1", "push-1"), 1.0) is None
    assert len(awaited) == 0


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.floats(0, 3)), max_size=40))
def test_a_request_is_handed_over_at_least_every_hand_again_seconds(
    steps: list[tuple[str, float]],
) -> None:
    awaited, now = Awaited(), 0.0
    handed: dict[str, float] = {}
    for msg_id, step in steps:
        now += step
        if awaited.waited(ALICE, keepalive(msg_id), now) is None:
            handed[msg_id] = now
        assert now - handed[msg_id] < HAND_AGAIN


def test_the_oldest_are_forgotten_past_the_bound() -> None:
    awaited = Awaited()
    for i in range(AWAITED_KEPT + 1):
        awaited.waited(ALICE, keepalive(f"k{i}"), 0.0)
    assert len(awaited) == AWAITED_KEPT
    assert awaited.waited(ALICE, keepalive("k0"), 0.1) is None  # forgotten: handed again


class RecordingNats:
    """NATS as the follower uses it here: what it publishes is kept."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []
        self.is_connected = True

    async def publish(self, subject: str, data: bytes) -> None:
        self.published.append((subject, data))


def test_a_follower_answers_a_copy_busy_itself_and_an_answer_lets_the_next_through() -> None:
    nats = RecordingNats()
    peer_key = public_bytes(X25519PrivateKey.generate())
    sent: list[tuple[tuple[str, int], Message]] = []

    async def run() -> None:
        follower = Follower(nats, "r1", X25519PrivateKey.generate(), print, None)  # type: ignore[arg-type]
        follower.endpoint.send = lambda addr, message, key, **_: sent.append((addr, message))  # type: ignore[method-assign]
        register = Register("r-1", "alice", 6000, "", "", "")
        follower._received_batch([register], ALICE, peer_key)
        follower._received_batch([register], ALICE, peer_key)  # a copy: Busy from here
        await asyncio.sleep(0)
        await follower._publish.flushed()
        assert len(nats.published) == 1
        assert [type(m) for _, m in sent] == [Busy]
        assert isinstance(sent[0][1], Busy) and sent[0][1].reply_to == "r-1"
        alive = Alive("x-1", "r-1", 1, ())  # (any answer to it)
        out = Outbound([(*ALICE, peer_key)], encode(alive))
        await follower._outbound(SimpleNamespace(data=pack([out])))  # type: ignore[arg-type]
        follower._received_batch([register], ALICE, peer_key)  # answered: handed over
        await asyncio.sleep(0)
        await follower._publish.flushed()

    asyncio.run(run())
    inbounds = [i for _, data in nats.published for i in unpack_inbounds(data)]
    assert len(inbounds) == 2


def test_a_follower_cut_off_from_nats_answers_no_copy_busy() -> None:
    nats = RecordingNats()
    nats.is_connected = False  # (its peers must find it silent, and move)
    sent: list[Message] = []

    async def run() -> None:
        follower = Follower(nats, "r1", X25519PrivateKey.generate(), print, None)  # type: ignore[arg-type]
        follower.endpoint.send = lambda addr, message, key, **_: sent.append(message)  # type: ignore[method-assign]
        for _ in range(2):
            follower._received_batch([keepalive()], ALICE, b"k" * 32)
        await asyncio.sleep(0)
        await follower._publish.flushed()

    asyncio.run(run())
    assert sent == []
