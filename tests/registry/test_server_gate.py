"""The registry's flood gate, tried as an attacker would (registry/adapter/server.py): a live
session's data is opened before the gate; its acks are counted only while the registry lags,
and each of its requests always is, by its source address; a replay or a forgery naming that
session costs one decryption at most, and none from another address; data naming no live
session is dropped by its header; anything else (a stranger's handshake) is counted and
dropped unopened beyond the rate, as before. Many keys at a few addresses share each
address's allowance."""

from __future__ import annotations

import asyncio
import os
import struct
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from registry.adapter.server import RegistryServer
from registry.adapter.settings import RegistrySettings
from secure.channel import DATA, SecureChannel
from tests.datagrams import seal_list
from tests.net.test_gate_sessions import Decrypts, handshakes_counted
from wire.codec import encode
from wire.limits import REGISTRY_BURST, REGISTRY_RATE
from wire.messages import Acks, Keepalive, Message

pytestmark = pytest.mark.timeout(60)

#: A DATA datagram's header (docs/PROTOCOL.md, "The secure channel"): kind, index, counter.
HEADER = struct.Struct("<BIQ")

Addr = tuple[str, int]
REGISTRY, ALICE = ("127.0.0.1", 5000), ("127.0.0.1", 6001)
#: Attackers: ten addresses, two to ten of them used at a time.
ATTACKERS = [(f"127.0.0.{n}", 7000 + n) for n in range(2, 12)]
NOW = 10.0
OVER = 300  # messages sent beyond an address's burst


class Registry:
    """A registry as `ChatApp -s` makes it, verbose (its log shows each message handled), with
    no socket: datagrams are handed to its endpoint as its drain would."""

    def __init__(self, tmp_path: Path) -> None:
        self.lines: list[str] = []
        self.server = RegistryServer(
            data_dir=tmp_path,
            listen=REGISTRY,
            out=self.lines.append,
            settings=RegistrySettings(verbose=True, discovery=False),
        )
        self.endpoint = self.server.endpoint

    async def handled(self, kind: str) -> int:
        """Messages of `kind` handled so far: the verbose log's lines of what came in, once
        written (at the end of the event loop's pass)."""
        await asyncio.sleep(0)
        return sum(1 for line in self.lines if f" {kind}(" in line and " <- " in line)

    @property
    def dropped(self) -> int:
        """Messages the flood gate dropped."""
        return self.server.core.flood.dropped

    def session(self, at: Addr) -> tuple[SecureChannel, Decrypts]:
        """A new key's channel at `at`, with a confirmed session to the registry (its
        decryptions counted)."""
        channel = SecureChannel(X25519PrivateKey.generate())
        registry = self.endpoint.channel
        assert isinstance(registry, SecureChannel)
        ((initiation, _),) = seal_list(channel, [b"x"], [(REGISTRY, registry.public)], NOW)
        ((response, _),) = registry.open(initiation, at, NOW).send
        ((first, _),) = channel.open(response, REGISTRY, NOW).send
        self.endpoint.receive(first, at, NOW)  # confirms it (not a message: dropped as bad)
        session = next(s for s in registry.sessions_at(at) if s.confirmed)
        counted = Decrypts(session.receiving)
        session.receiving = counted  # type: ignore[assignment]
        return channel, counted

    def sealed(self, channel: SecureChannel, message: Message) -> bytes:
        ((datagram, _),) = seal_list(
            channel, [encode(message)], [(REGISTRY, self.endpoint.channel.public)], NOW
        )
        return datagram


def acks(n: int) -> Acks:
    return Acks(f"a-{n}", (f"pushed-{n}", f"pushed-{n + 1}"))


def keepalive(n: int) -> Keepalive:
    return Keepalive(f"k-{n}", "mallory", "")


def run(tmp_path: Path, test: Callable[[Registry], Awaitable[None]]) -> None:
    async def scenario() -> None:
        registry = Registry(tmp_path)
        try:
            await test(registry)
        finally:
            await registry.server.close()

    asyncio.run(scenario())


def test_a_live_sessions_acks_are_never_counted_and_a_replay_costs_one_open(
    tmp_path: Path,
) -> None:
    async def test(registry: Registry) -> None:
        alice, decrypts = registry.session(ALICE)
        many = int(REGISTRY_BURST) + OVER
        captured = [registry.sealed(alice, acks(n)) for n in range(many)]
        for datagram in captured:
            registry.endpoint.receive(datagram, ALICE, NOW)
        assert await registry.handled("Acks") == many and registry.dropped == 0
        opened = decrypts.calls
        # the captured datagrams again, from the session's address and from ten others,
        # with a forgery naming the session: nothing handled again, one decryption at most
        (_, index, counter) = HEADER.unpack_from(captured[-1])
        forged = HEADER.pack(DATA, index, counter + 1) + os.urandom(60)
        for addr in [ALICE, *ATTACKERS]:
            for datagram in [*captured[:200], forged]:
                registry.endpoint.receive(datagram, addr, NOW)
        assert await registry.handled("Acks") == many and registry.dropped == 0
        assert decrypts.calls - opened == 201  # from other addresses: not even opened
        channel = registry.endpoint.channel
        assert channel.dropped["from another address than its session's"] == 201 * 10
        assert channel.dropped["replayed"] == 200
        registry.endpoint.receive(registry.sealed(alice, acks(many)), ALICE, NOW)
        assert await registry.handled("Acks") == many + 1

    run(tmp_path, test)


def test_a_live_sessions_acks_count_against_its_address_while_the_registry_lags(
    tmp_path: Path,
) -> None:
    """A session flooding acks while datagrams wait unread is held to its address's rate:
    acks answer pushes, but must not keep the registry behind."""

    async def test(registry: Registry) -> None:
        mallory, _ = registry.session(ATTACKERS[0])
        many = int(REGISTRY_BURST) + OVER
        registry.endpoint.lagging = True  # as after a drain that stopped short
        for n in range(many):
            registry.endpoint.receive(registry.sealed(mallory, acks(n)), ATTACKERS[0], NOW)
        assert registry.dropped == OVER
        assert await registry.handled("Acks") == int(REGISTRY_BURST)

    run(tmp_path, test)


def test_a_live_sessions_requests_count_against_its_address(tmp_path: Path) -> None:
    async def test(registry: Registry) -> None:
        mallory, _ = registry.session(ATTACKERS[0])
        many = int(REGISTRY_BURST) + OVER
        for n in range(many):
            registry.endpoint.receive(registry.sealed(mallory, keepalive(n)), ATTACKERS[0], NOW)
        assert await registry.handled("Keepalive") == REGISTRY_BURST and registry.dropped == OVER
        # in one datagram, an ack still counts nothing, and the requests after the one
        # refused are dropped with it
        packed = b"[" + b",".join(encode(m) for m in (acks(0), keepalive(0), acks(1))) + b"]"
        ((datagram, _),) = seal_list(
            mallory, [packed], [(REGISTRY, registry.endpoint.channel.public)], NOW
        )
        registry.endpoint.receive(datagram, ATTACKERS[0], NOW)
        assert await registry.handled("Acks") == 1 and registry.dropped == OVER + 1
        # another address's requests come through the flood
        alice, _ = registry.session(ALICE)
        registry.endpoint.receive(registry.sealed(alice, keepalive(many)), ALICE, NOW)
        assert await registry.handled("Keepalive") == REGISTRY_BURST + 1

    run(tmp_path, test)


def test_many_keys_at_a_few_addresses_share_each_addresses_allowance(tmp_path: Path) -> None:
    async def test(registry: Registry) -> None:
        for addresses in (2, 10):
            before_handled, before_dropped = await registry.handled("Keepalive"), registry.dropped
            used = ATTACKERS[:addresses] if addresses == 2 else ATTACKERS[2:]
            keys = [(at, registry.session(at)[0]) for at in used for _ in range(3)]
            per_key = (int(REGISTRY_BURST) + OVER) // 3 + 1
            for n in range(per_key):
                for at, channel in keys:
                    registry.endpoint.receive(registry.sealed(channel, keepalive(n)), at, NOW)
            handled = await registry.handled("Keepalive") - before_handled
            assert handled == REGISTRY_BURST * len(used)
            assert registry.dropped - before_dropped == (3 * per_key - REGISTRY_BURST) * len(used)

    run(tmp_path, test)


def test_a_strangers_initiations_beyond_the_rate_are_dropped_before_any_dh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = handshakes_counted(monkeypatch)

    async def test(registry: Registry) -> None:
        started = time.monotonic()
        for at in ATTACKERS[:2]:
            stranger = SecureChannel(X25519PrivateKey.generate())
            ((initiation, _),) = seal_list(
                stranger, [b"x"], [(REGISTRY, registry.endpoint.channel.public)], 0
            )
            for _ in range(int(REGISTRY_BURST) + OVER):
                registry.endpoint.receive(initiation, at, NOW)
        # the gate reads the clock here: it refilled at REGISTRY_RATE a second meanwhile
        refilled = 2 * REGISTRY_RATE * (time.monotonic() - started) + 2
        assert 2 * OVER - refilled <= registry.dropped <= 2 * OVER
        assert opened[0] <= 2 * REGISTRY_BURST + refilled

    run(tmp_path, test)


def test_data_naming_no_live_session_is_dropped_by_its_header_and_costs_no_allowance(
    tmp_path: Path,
) -> None:
    async def test(registry: Registry) -> None:
        _, decrypts = registry.session(ALICE)
        opened = decrypts.calls
        junk = [bytes((DATA,)) + os.urandom(60) for _ in range(int(REGISTRY_BURST) + OVER)]
        for at in ATTACKERS:
            for datagram in junk:
                registry.endpoint.receive(datagram, at, NOW)
        assert decrypts.calls == opened and registry.dropped == 0
        assert registry.endpoint.channel.dropped["no such session"] == len(junk) * 10

    run(tmp_path, test)
