"""bench.unprotected's pass-through: what the protection's cost is measured against. Between
peers it carries datagrams as they are, with the key the table gives; to and from the
registry it is the real secure channel."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bench.unprotected import CLEAR, PassThrough
from secure.channel import SecureChannel
from tests.datagrams import seal_list
from wire.keys import key_text
from wire.messages import Entry

pytestmark = pytest.mark.timeout(10)

REGISTRY, BOB = ("127.0.0.1", 5000), ("127.0.0.1", 6002)
BOB_KEY = b"b" * 32


def pass_through() -> tuple[PassThrough, SecureChannel]:
    channel = SecureChannel(X25519PrivateKey.generate())
    rows = [Entry("bob", *BOB, True, key_text(BOB_KEY)), Entry("old", *BOB, False)]
    table = SimpleNamespace(rows=lambda: rows)
    endpoint = SimpleNamespace(channel=channel)
    node = SimpleNamespace(endpoint=endpoint, core=SimpleNamespace(server=REGISTRY, table=table))
    return PassThrough(cast(Any, node)), channel


def test_between_peers_a_datagram_travels_as_it_is_and_opens_with_the_tables_key() -> None:
    through, _ = pass_through()
    [(packet, to)] = seal_list(through, [b'{"x":1}'], [(BOB, BOB_KEY)], 0.0)
    assert (packet, to) == (bytes((CLEAR,)) + b'{"x":1}', BOB)
    opened = through.open(packet, BOB, 0.0)
    assert (opened.data, opened.key) == (b'{"x":1}', BOB_KEY)


def test_the_registry_still_gets_the_secure_channel() -> None:
    through, channel = pass_through()
    registry_key = SecureChannel(X25519PrivateKey.generate()).public
    [(packet, to)] = seal_list(through, [b"hello"], [(REGISTRY, registry_key)], 0.0)
    assert to == REGISTRY and packet[0] == 1  # a handshake initiation: sealed, not clear
    # and an unsealed datagram that claims to be from the registry does not open
    assert through.open(bytes((CLEAR,)) + b"hello", REGISTRY, 0.0).data is None
    assert through.dropped == channel.dropped  # the rest is the real channel's
