"""A registry that relays for a service (registry/adapter/cluster/follower.py): an answer to a
request that came over TCP goes back on that connection, or nowhere; the peers it heard are
reported to the registry that decides."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from types import SimpleNamespace

import nats.errors
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from msgspec import msgpack

from registry.adapter.cluster import follower as follower_module
from registry.adapter.cluster.follower import Follower
from registry.adapter.cluster.link import (
    INBOUNDS,
    LEAD_SUBJECT,
    Addr,
    Inbound,
    Outbound,
    Publisher,
)
from registry.adapter.server import registry_channel
from secure.noise import public_bytes
from tests.registry.secure_peer import SecurePeer
from wire.codec import decode, encode
from wire.messages import (
    Entry,
    Keepalive,
    Message,
    Register,
    TableRequest,
    TableSnapshot,
    TableUpdate,
    Welcome,
)

pytestmark = pytest.mark.timeout(10)


class RecordingNats:
    """NATS as the follower uses it here: what it publishes, kept by subject."""

    def __init__(self) -> None:
        self.published: dict[str, list[bytes]] = {}

    def handed(self, *, heard: bool) -> list[Inbound]:
        """What was handed to the lead: peers heard (no messages), or messages passed."""
        inbounds = [
            one for data in self.published.get(LEAD_SUBJECT, []) for one in INBOUNDS.decode(data)
        ]
        return [one for one in inbounds if (not one.messages) == heard]

    async def publish(self, subject: str, data: bytes) -> None:
        self.published.setdefault(subject, []).append(data)

    async def subscribe(self, subject: str, cb: object) -> SimpleNamespace:
        async def unsubscribe() -> None:
            pass

        return SimpleNamespace(unsubscribe=unsubscribe)


def test_the_peers_heard_are_reported_to_the_registry_that_decides_once_each_period(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(follower_module, "HEARD_EVERY", 0.05)
    nats = RecordingNats()
    key = X25519PrivateKey.generate()

    async def run() -> tuple[Addr, bytes]:
        follower = Follower(nats, "r1", registry_channel(key), print, None)  # type: ignore[arg-type]
        addr = await follower.start("127.0.0.1", 0)
        try:
            with SecurePeer(public_bytes(key)) as bob:
                connection = await bob.connect(addr)
                connection.send(Keepalive("k-1", "bob", "t"))
                while not nats.handed(heard=True):
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.15)  # (periods with nobody heard: no report)
                connection.writer.close()
                sockname = connection.writer.get_extra_info("sockname")[:2]
                return sockname, public_bytes(bob.static)
        finally:
            await follower.close()

    (ip, port), peer_key = asyncio.run(run())
    [report] = nats.handed(heard=True)
    assert (report.registry, report.ip, report.port, report.key) == ("r1", ip, port, peer_key)


def test_what_nats_will_not_take_is_dropped_and_what_follows_still_goes() -> None:
    published: list[str] = []

    async def publish(subject: str, data: bytes) -> None:
        if subject == "full":
            raise nats.errors.OutboundBufferLimitError
        published.append(subject)

    async def run() -> None:
        publisher = Publisher(publish)
        publisher("full", Outbound([], b""))
        publisher("fine", Outbound([], b""))
        await asyncio.sleep(0)  # (the pass is over: the queue drains)
        await publisher.flushed()  # (raises nothing: the one refused is dropped)

    asyncio.run(run())
    assert published == ["fine"]


def test_the_keys_of_peers_silent_for_a_turn_are_forgotten_and_not_announced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A long-running relaying registry kept the key of every address that ever spoke, of
    # peers that left or moved too: 10,000 peers joining and leaving left 10,000 keys.
    monkeypatch.setattr(follower_module, "HEARD_EVERY", 3600.0)  # (no report meanwhile)
    nats = RecordingNats()
    key = X25519PrivateKey.generate()

    def seen(*, announced: bool) -> set[tuple[str, int]]:
        return {(one.ip, one.port) for one in nats.handed(heard=announced)}

    async def until(condition: Callable[[], bool]) -> None:
        while not condition():
            await asyncio.sleep(0.01)

    async def run() -> None:
        follower = Follower(nats, "r1", registry_channel(key), print, None)  # type: ignore[arg-type]
        addr = await follower.start("127.0.0.1", 0)
        peers = [SecurePeer(public_bytes(key)) for _ in range(3)]
        try:
            connections = [await peer.connect(addr) for peer in peers]
            addrs = {connection.writer.get_extra_info("sockname")[:2] for connection in connections}
            for connection in connections:
                connection.send(Keepalive("k-1", "p", "t"))
            await until(lambda: seen(announced=False) == addrs)
            follower.forget_silent()
            nats.published.clear()
            connections[0].send(Keepalive("k-2", "p", "t"))  # the one still here
            still = connections[0].writer.get_extra_info("sockname")[:2]
            await until(lambda: seen(announced=False) == {still})
            follower.forget_silent()  # (the other two were silent since the turn before)
            follower.announce()
            await until(lambda: bool(seen(announced=True)))
            assert seen(announced=True) == {still}
        finally:
            for peer in peers:
                peer.sock.close()
            await follower.close()

    asyncio.run(run())


class CapturingNats(RecordingNats):
    """NATS as the follower uses it here: the callback it takes the lead's messages by."""

    async def subscribe(self, subject: str, cb: object) -> SimpleNamespace:
        self.outbound = cb
        return await super().subscribe(subject, cb)


def test_an_answer_whose_tcp_connection_closed_is_dropped_not_sent_as_a_datagram() -> None:
    nats = CapturingNats()
    key = X25519PrivateKey.generate()
    lines: list[str] = []
    listening = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    async def run() -> None:
        follower = Follower(nats, "r1", registry_channel(key), lines.append, None)  # type: ignore[arg-type]
        addr = await follower.start("127.0.0.1", 0)
        try:
            with SecurePeer(public_bytes(key)) as alice:
                for _ in range(10):  # (what would arrive as a datagram at its port is caught)
                    connection = await alice.connect(addr)
                    asker = connection.writer.get_extra_info("sockname")[:2]
                    try:
                        listening.bind(asker)
                        break
                    except OSError:  # (a datagram socket of another test holds that port)
                        connection.writer.close()
                register = Register("p-1", "alice", 6000, "", "", "")
                # it came over TCP (a registration whose Welcome was too big for a
                # datagram), and the connection closed before the registry that decides
                # answered
                connection.send(register)
                while not nats.published.get(LEAD_SUBJECT):
                    await asyncio.sleep(0.01)
                connection.writer.close()
                while follower.endpoint.connected(asker):
                    await asyncio.sleep(0.01)
                rows = tuple(Entry(f"peer{i:04}", "10.0.0.1", 6000 + i, True) for i in range(300))
                welcome = Welcome("r-1", register.id, "alice", "t", 1, rows, (), ())
                out = Outbound([(*asker, public_bytes(alice.static))], encode(welcome))
                await nats.outbound(SimpleNamespace(data=msgpack.encode([out])))
        finally:
            await follower.close()  # (what waited to leave packed leaves: loopback delivers
            # a datagram within the call that sends it)

    try:
        asyncio.run(run())
        listening.setblocking(False)
        with pytest.raises(BlockingIOError):
            listening.recv(2048)
    finally:
        listening.close()
    assert any("its request's TCP connection is closed" in line for line in lines)


@pytest.mark.needs_pure  # replaces the endpoint's send
def test_a_peer_welcomed_without_rows_is_pushed_from_the_table_it_is_sent_next() -> None:
    nats = CapturingNats()
    bob = ("127.0.0.3", 6002, public_bytes(X25519PrivateKey.generate()))
    sent: list[Message] = []
    rows = tuple(Entry(f"p{n}", "10.0.0.1", 6000 + n, True) for n in range(3))
    welcome = Welcome("r-1", "g-1", "bob", "t", 5, (), (), ())  # a big table: fetched
    handed = [
        Outbound([bob], encode(welcome)),
        Outbound([bob], encode(TableUpdate("u-6", 6, rows[:1])), push=True),
        Outbound([bob], encode(TableSnapshot("s-1", "q-1", 6, rows[:1], ()))),
        Outbound([bob], encode(TableUpdate("u-7", 7, rows[1:])), push=True),
    ]

    async def run() -> None:
        follower = Follower(nats, "r1", registry_channel(X25519PrivateKey.generate()), print, None)  # type: ignore[arg-type]
        follower.endpoint.send = lambda addr, message, key: sent.append(message)  # type: ignore[method-assign]
        await follower.start("127.0.0.1", 0)
        try:
            for out in handed:  # each in a NATS message of its own
                await nats.outbound(SimpleNamespace(data=msgpack.encode([out])))
        finally:
            await follower.close()

    asyncio.run(run())
    # as a registry on its own: update 6 is in the table bob fetches, not pushed besides
    assert [type(m).__name__ for m in sent] == ["Welcome", "TableSnapshot", "TableUpdate"]
    assert sent[2].version == 7  # type: ignore[attr-defined]


def test_a_whole_table_asked_by_datagram_goes_to_the_registry_that_decides() -> None:
    # small or big, as the last Welcome said: peers ask a big one over TCP, and only a
    # retry comes by datagram, which the registry that decides answers (TooBig)
    nats = CapturingNats()
    key = X25519PrivateKey.generate()

    def asked() -> list[Message]:
        inbounds = [
            one for data in nats.published.get(LEAD_SUBJECT, []) for one in INBOUNDS.decode(data)
        ]
        return [decode(data) for one in inbounds for data in one.messages]

    async def run() -> None:
        follower = Follower(nats, "r1", registry_channel(key), print, None)  # type: ignore[arg-type]
        addr = await follower.start("127.0.0.1", 0)
        try:
            with SecurePeer(public_bytes(key)) as bob:
                to = [(*bob.address, public_bytes(bob.static))]
                row = Entry("bob", *bob.address, True)
                for version, rows in ((4, (row,)), (5, ())):  # a small table, then a big one
                    welcome = Welcome("r-1", "g-1", "bob", "t", version, rows, (), ())
                    out = Outbound(to, encode(welcome))
                    await nats.outbound(SimpleNamespace(data=msgpack.encode([out])))
                    assert await bob.receive() == [welcome]
                    bob.send(TableRequest(f"q-{version}"), addr)
                    while TableRequest(f"q-{version}") not in asked():
                        await asyncio.sleep(0.01)
        finally:
            await follower.close()

    asyncio.run(run())
