"""A table update pushed to another registry's peers names them as a change of the list of
the push before (registry/adapter/cluster/link.py); the registry it goes to keeps the
list and puts it back (registry/adapter/cluster/follower.py)."""

from __future__ import annotations

import asyncio

import pytest
from msgspec import msgpack

from registry.adapter.cluster import link as elsewhere_module
from registry.adapter.cluster.link import OUTBOUNDS, Addr, Elsewhere, Outbound
from registry.core.actions import SendMany
from tests.registry.test_cluster_delivery import relaying
from wire.codec import decode
from wire.messages import Message, TableUpdate

pytestmark = pytest.mark.timeout(10)

PEERS = [("127.0.0.2", 7000 + n, bytes([n]) * 32) for n in range(4)]
A, B, C, D = PEERS
LISTS = [[A, B, C], [A, B, C], [A, B, C, D], [B, D], [B, D, A]]


def pushed(lists: list[list[tuple[str, int, bytes]]]) -> list[Outbound]:
    """What the registry that decides hands registry r1 for one update pushed to each of
    `lists` of its peers, as they cross NATS."""
    published: list[Outbound] = []
    elsewhere = Elsewhere(lambda via, out: published.append(out))
    for peer in PEERS:
        elsewhere.heard_via(peer[:2], "r1")
    for version, to in enumerate(lists, 1):
        addrs = tuple((ip, port) for ip, port, _ in to)
        keys = tuple(key for _, _, key in to)
        update = TableUpdate(f"u-{version}", version, ())
        assert elsewhere.send(SendMany(addrs, update, keys)) is None
    return OUTBOUNDS.decode(msgpack.encode(published))


class Sealed:
    """An endpoint that keeps the address and key each update is sealed for."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, bytes]] = []

    def send(self, addr: tuple[str, int], message: Message, key: bytes) -> None:
        self.sent.append((*addr, key))

    def send_many(self, addrs: list[tuple[str, int]], keys: list[bytes], message: Message) -> None:
        self.sent += [(*addr, key) for addr, key in zip(addrs, keys, strict=True)]

    async def close(self) -> None:
        pass


def put_back(outs: list[Outbound]) -> tuple[list[tuple[str, int, bytes]], list[list[Addr] | None]]:
    """As the relaying registry puts back the peers each of `outs` goes to: the address
    and key the first one's update is sealed for, and the addresses each goes to (None:
    dropped)."""

    async def run() -> tuple[list[tuple[str, int, bytes]], list[list[Addr] | None]]:
        endpoint = Sealed()
        delivery = relaying(endpoint, {})
        try:
            first = delivery.listed(outs[0])
            delivery.push([(first or [], decode(outs[0].message))])  # type: ignore[list-item]
            lists = [first, *(delivery.listed(out) for out in outs[1:])]
            return endpoint.sent, [None if to is None else list(to) for to in lists]
        finally:
            await delivery.close()

    return asyncio.run(run())


def addrs(lists: list[list[tuple[str, int, bytes]]]) -> list[list[Addr]]:
    return [[(ip, port) for ip, port, _ in to] for to in lists]


def test_each_push_names_only_the_peers_added_and_gone_and_the_relay_puts_the_list_back() -> None:
    outs = pushed(LISTS)
    assert [len(out.to) for out in outs] == [3, 0, 1, 0, 1]
    assert [out.gone for out in outs] == [[], [], [], [A[:2], C[:2]], []]
    sealed, lists = put_back(outs)
    assert sealed == LISTS[0]  # (each for the key listed with it)
    assert [sorted(to or ()) for to in lists] == [sorted(to) for to in addrs(LISTS)]


def test_a_push_over_a_list_lost_on_the_way_is_dropped_until_the_list_comes_whole() -> None:
    outs = pushed(LISTS)
    # (the second changed nothing: its list is the first's)
    _, lists = put_back([outs[0], outs[1], outs[3], outs[4]])
    assert lists == [*addrs([[A, B, C], [A, B, C]]), None, None]


def test_the_list_goes_whole_again_once_kept_long_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(elsewhere_module, "SNAPSHOT_KEPT", 0.0)
    outs = pushed(LISTS)
    assert [out.to for out in outs] == LISTS
    assert put_back([outs[0], outs[3]])[1] == addrs([[A, B, C], [B, D]])
