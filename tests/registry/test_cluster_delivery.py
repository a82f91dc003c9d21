"""The table updates a relaying registry delivers to its own peers
(registry/adapter/cluster/follower.py): sent, retried until acked, and the acks taken there;
what is not theirs goes on to the registry that decides; a late ack brings the newest rows
in one push, as at a registry on its own (registry/core/table_watch.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from registry.adapter.cluster.follower import Follower
from registry.adapter.cluster.link import Outbound
from registry.adapter.server import registry_channel
from wire.keys import key_text
from wire.messages import Ack, Acks, Entry, Keepalive, Message, TableUpdate

pytestmark = pytest.mark.timeout(10)

BOB, CAROL = ("127.0.0.2", 7002), ("127.0.0.3", 7003)
KB, KC = b"b" * 32, b"c" * 32
KEYS = {BOB: KB, CAROL: KC}


async def no_desk() -> tuple[str, str, list[str]]:
    return "", "", []


def relaying(endpoint: object, peers: dict[tuple[str, int], bytes] = KEYS) -> Follower:
    """A relaying registry sending on `endpoint`, `peers` listed with their keys."""
    channel = registry_channel(X25519PrivateKey.generate())
    relay = Follower(SimpleNamespace(publish=None), "r1", channel, print, no_desk)  # type: ignore[arg-type]
    relay.endpoint = endpoint  # type: ignore[assignment]
    relay.listed(Outbound([(*addr, key) for addr, key in peers.items()], b""))
    return relay


class Sent:
    """The endpoint as a relay delivers on it: each (address, message, key) it was handed."""

    def __init__(self) -> None:
        self.sent: list[tuple[tuple[str, int], Message, bytes]] = []

    def send(self, addr: tuple[str, int], message: Message, key: bytes) -> None:
        self.sent.append((addr, message, key))

    def send_many(self, addrs: list[tuple[str, int]], keys: list[bytes], message: Message) -> None:
        self.sent += [(addr, message, key) for addr, key in zip(addrs, keys, strict=True)]

    async def close(self) -> None:
        pass


def test_updates_are_sent_their_acks_taken_here_and_the_unacked_sent_again() -> None:
    endpoint = Sent()
    update = TableUpdate("u-1", 5, ())

    async def run() -> list[list[Message]]:
        delivery = relaying(endpoint)
        try:
            delivery.push([([BOB, CAROL], update)])
            keepalive = Keepalive("k-1", "bob", "t")
            rest = [
                delivery.acked([Acks("a-1", ("u-1", "x-9")), keepalive], BOB),
                delivery.acked([Ack("a-2", "x-8")], BOB),
            ]
            while len(endpoint.sent) < 3:  # carol's ack never came: her copy again
                await asyncio.sleep(0.05)
            return rest
        finally:
            await delivery.close()

    rest = asyncio.run(run())
    # bob's ack of the update stays here; his ack of something else, and the rest, go on
    assert rest == [[Ack("a-1", "x-9"), Keepalive("k-1", "bob", "t")], [Ack("a-2", "x-8")]]
    assert endpoint.sent[:2] == [(BOB, update, KB), (CAROL, update, KC)]
    assert endpoint.sent[2] == (CAROL, update, KC)


def test_with_nothing_in_flight_every_message_goes_on_untouched() -> None:
    async def run() -> list[Message]:
        delivery = relaying(Sent())
        try:
            return delivery.acked([Ack("a-1", "u-1")], BOB)
        finally:
            await delivery.close()

    assert asyncio.run(run()) == [Ack("a-1", "u-1")]


def test_a_late_ack_gets_the_rows_changed_since_in_one_push() -> None:
    endpoint = Sent()
    rows = [Entry(f"p{n}", "127.0.0.9", 7000 + n, True) for n in range(3)]
    first = TableUpdate("u-5", 5, (rows[0],))
    later = [TableUpdate("u-6", 6, (rows[1],)), TableUpdate("u-7", 7, (rows[2], rows[0]))]

    async def run() -> list[Message]:
        delivery = relaying(endpoint)
        try:
            delivery.push([([BOB], first)])
            for update in later:  # handed one by one while u-5 is unacked: held here
                delivery.push([([BOB], update)])
            assert [message for _, message, _ in endpoint.sent] == [first]
            return delivery.acked([Ack("a-1", "u-5")], BOB)
        finally:
            await delivery.close()

    assert asyncio.run(run()) == []  # the ack stays here
    assert len(endpoint.sent) == 2
    addr, push, key = endpoint.sent[1]
    assert (addr, key) == (BOB, KB)
    assert type(push) is TableUpdate
    # one update from version 5 to 7: each row once, as the last change has it
    assert (push.start(), push.version) == (5, 7)
    assert push.entries == (rows[1], rows[2], rows[0])


def test_updates_handed_together_go_as_one_push() -> None:
    endpoint = Sent()
    updates = [TableUpdate(f"u-{v}", v, ()) for v in (3, 4)]

    async def run() -> None:
        delivery = relaying(endpoint)
        try:
            delivery.push([([BOB], update) for update in updates])
        finally:
            await delivery.close()

    asyncio.run(run())
    assert [message for _, message, _ in endpoint.sent] == updates


def test_a_peer_with_a_push_on_its_way_is_told_the_version_it_acked() -> None:
    async def run() -> list[int]:
        delivery = relaying(Sent())
        try:
            delivery.watch.welcomed(BOB, key_text(KB), 4, fetching=False)
            delivery.push([([BOB], TableUpdate("u-5", 5, ()))])
            told = [delivery.watch.told(BOB, 5), delivery.watch.told(CAROL, 5)]
            delivery.acked([Ack("a-1", "u-5")], BOB)
            return [*told, delivery.watch.told(BOB, 5)]
        finally:
            await delivery.close()

    # bob's push brings version 5: an Alive saying 5 would have him fetch it as well
    assert asyncio.run(run()) == [4, 5, 5]


def test_a_copy_of_an_update_handed_before_is_not_sent_again() -> None:
    endpoint = Sent()
    update = TableUpdate("u-5", 5, ())

    async def run() -> None:
        delivery = relaying(endpoint)
        try:
            delivery.push([([BOB], update)])
            delivery.acked([Ack("a-1", "u-5")], BOB)
            delivery.push([([BOB, CAROL], update)])  # handed again
        finally:
            await delivery.close()

    asyncio.run(run())
    assert endpoint.sent == [(BOB, update, KB)]


def test_a_peer_gone_offline_is_watched_no_more() -> None:
    endpoint = Sent()
    gone = TableUpdate("u-6", 6, (Entry("bob", *BOB, False),))

    async def run() -> int:
        delivery = relaying(endpoint)
        try:
            delivery.push([([BOB, CAROL], TableUpdate("u-5", 5, ()))])
            delivery.acked([Ack("a-1", "u-5")], CAROL)  # bob never acks: he is gone
            delivery.push([([CAROL], gone)])
            return len(delivery.watch.in_flight)
        finally:
            await delivery.close()

    assert asyncio.run(run()) == 1  # carol's push; none to bob


def test_a_peer_silent_here_for_a_turn_is_watched_no_more() -> None:
    # A peer that moved to another registry kept its push, and its copies, here for good.
    endpoint = Sent()

    async def run() -> int:
        delivery = relaying(endpoint)
        try:
            delivery.push([([BOB, CAROL], TableUpdate("u-5", 5, ()))])
            delivery.watch.keep_only({CAROL: KC})  # (bob was not heard here: he moved)
            return len(delivery.watch.in_flight)
        finally:
            await delivery.close()

    assert asyncio.run(run()) == 1


def test_a_keepalive_behind_brings_the_rows_since_its_version_from_here() -> None:
    # a peer that moved here, or whose push was given up: its keepalive says its version
    endpoint = Sent()
    rows = [Entry(f"p{n}", "127.0.0.9", 7000 + n, True) for n in range(3)]

    async def run() -> None:
        delivery = relaying(endpoint)
        try:
            delivery.push([([CAROL], TableUpdate(f"u-{n}", n, (rows[n],))) for n in (1, 2)])
            delivery.heard(BOB, 1)  # not pushed here yet: at 1, it lacks 2
            delivery.heard(BOB, 2)  # (up to date: nothing)
        finally:
            await delivery.close()

    asyncio.run(run())
    [(_, update, key)] = [sent for sent in endpoint.sent if sent[0] == BOB]
    assert (update.start(), update.version, update.entries, key) == (1, 2, (rows[2],), KB)  # type: ignore[attr-defined]
