"""A relaying registry delivers the pushes the registry that decides handed on
(registry/adapter/cluster/delivery.py): it sends them, takes its peers' acks of them (the rest
go on to the one that decides), and sends again what is not acked."""

from __future__ import annotations

import asyncio

import pytest

from registry.adapter.cluster.delivery import Delivery
from wire.messages import Ack, Acks, Message, TableUpdate

pytestmark = pytest.mark.timeout(10)

ALICE, BOB = ("127.0.0.2", 6000), ("127.0.0.3", 6000)
KEY = b"k" * 32


class Sent:
    def __init__(self) -> None:
        self.sends: list[tuple[tuple[str, int], Message]] = []

    def __call__(self, addrs: object, keys: object, message: Message) -> None:
        assert isinstance(addrs, list | tuple) and isinstance(keys, list | tuple)
        assert all(k == KEY for k in keys)
        self.sends += [(addr, message) for addr in addrs]


def test_acks_of_pushes_delivered_here_stay_here_and_the_rest_go_on() -> None:
    async def run() -> None:
        sent = Sent()
        delivery = Delivery(sent, lambda addr: KEY)
        update = TableUpdate("u-1", 2, ())
        delivery.deliver([(ALICE, KEY), (BOB, KEY)], update)
        assert sent.sends == [(ALICE, update), (BOB, update)]
        assert delivery.acked(Ack("a-1", "u-1"), ALICE) is None  # taken here
        left = delivery.acked(Acks("a-2", ("u-1", "probe-7")), BOB)
        assert left == Ack("a-2", "probe-7")  # the one that decides sent the probe
        assert delivery.acked(Ack("a-3", "u-1"), BOB) == Ack("a-3", "u-1")  # (a copy)
        assert delivery.pushes.in_flight() == 0
        delivery.close()

    asyncio.run(run())


def test_what_is_not_acked_is_sent_again_then_given_up() -> None:
    async def run() -> None:
        sent = Sent()
        delivery = Delivery(sent, lambda addr: KEY, (0.02, 3))
        delivery.deliver([(ALICE, KEY)], TableUpdate("u-1", 2, ()))
        deadline = asyncio.get_running_loop().time() + 5
        while not delivery.given_up and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        assert delivery.given_up == 1
        assert len(sent.sends) == 3
        delivery.close()

    asyncio.run(run())
