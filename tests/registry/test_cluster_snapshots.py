"""A table snapshot crosses NATS whole once per registry and version
(registry/adapter/cluster/link.py); the registry it goes to puts its rows back
(registry/adapter/cluster/follower.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from msgspec import msgpack

from registry.adapter.cluster import link as elsewhere_module
from registry.adapter.cluster.follower import Follower
from registry.adapter.cluster.link import Elsewhere, Outbound
from registry.adapter.server import registry_channel
from registry.core.actions import Send
from wire.codec import decode, encode
from wire.messages import Entry, Message, TableSnapshot

pytestmark = pytest.mark.timeout(10)

ROWS = tuple(Entry(f"peer{i:04}", "127.0.0.1", 6000 + i, True) for i in range(50))
KEY = b"k" * 32


def snapshots_sent(*snapshots: TableSnapshot) -> list[Outbound]:
    """What the registry that decides hands registry r1 for `snapshots`, each to another of
    its peers."""
    published: list[Outbound] = []
    elsewhere = Elsewhere(lambda via, out: published.append(out))
    for port, snapshot in enumerate(snapshots, 7000):
        elsewhere.heard_via(("127.0.0.2", port), "r1")
        assert elsewhere.send(Send(("127.0.0.2", port), snapshot, KEY)) is None
    return published


def test_the_rows_of_one_version_cross_once_then_go_whole_again_at_another() -> None:
    first, second = (
        TableSnapshot("s-1", "a-1", 9, ROWS, ()),
        TableSnapshot("s-2", "a-2", 9, ROWS, ()),
    )
    later = TableSnapshot("s-3", "a-3", 10, (*ROWS[:10],), ())
    outs = snapshots_sent(first, second, later)
    assert [out.rows_as_before for out in outs] == [False, True, False]
    short = decode(outs[1].message)
    assert isinstance(short, TableSnapshot) and short.entries == () and short.reply_to == "a-2"
    assert decode(outs[2].message) == later


def test_the_rows_go_whole_again_once_kept_long_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(elsewhere_module, "SNAPSHOT_KEPT", 0.0)
    outs = snapshots_sent(
        TableSnapshot("s-1", "a-1", 9, ROWS, ()), TableSnapshot("s-2", "a-2", 9, ROWS, ())
    )
    assert [out.rows_as_before for out in outs] == [False, False]


class Quiet:
    """NATS as the follower uses it here: what it publishes goes nowhere; `outbound` is the
    callback it takes the messages of the registry that decides by."""

    async def publish(self, subject: str, data: bytes) -> None:
        pass

    async def subscribe(self, subject: str, cb: Any) -> SimpleNamespace:
        self.outbound = cb

        async def unsubscribe() -> None:
            pass

        return SimpleNamespace(unsubscribe=unsubscribe)


@pytest.mark.needs_pure  # replaces the endpoint's send
def test_a_relaying_registry_puts_the_rows_back_and_drops_what_it_cannot_complete() -> None:
    sent: list[Message] = []
    lines: list[str] = []

    async def run() -> None:
        channel = registry_channel(X25519PrivateKey.generate())
        nats = Quiet()
        follower = Follower(nats, "r1", channel, lines.append, None)  # type: ignore[arg-type]
        follower.endpoint.send = lambda addr, message, key, **_: sent.append(message)  # type: ignore[method-assign]
        await follower.start("127.0.0.1", 0)
        try:
            outs = snapshots_sent(
                TableSnapshot("s-1", "a-1", 9, ROWS, ()), TableSnapshot("s-2", "a-2", 9, ROWS, ())
            )
            for out in outs:
                await nats.outbound(SimpleNamespace(data=msgpack.encode([out])))
            # rows of a version it never got whole: dropped, its peer asks again
            lost = snapshots_sent(
                TableSnapshot("s-3", "a-3", 11, ROWS, ()), TableSnapshot("s-4", "a-4", 11, ROWS, ())
            )
            await nats.outbound(SimpleNamespace(data=msgpack.encode([lost[1]])))
        finally:
            await follower.close()

    asyncio.run(run())
    # (as the peers read them: the rows are encoded once, for every asker at the version)
    assert [decode(encode(message)) for message in sent] == [
        TableSnapshot("s-1", "a-1", 9, ROWS, ()),
        TableSnapshot("s-2", "a-2", 9, ROWS, ()),
    ]
    assert any("without rows" in line for line in lines)
