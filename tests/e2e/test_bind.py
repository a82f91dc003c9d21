"""`--bind` on a peer: the address it listens on is the address it registers with, by
datagram or over TCP (a registration whose Welcome outgrows a datagram is asked again over
TCP, and the registry takes the connection's source for the peer's address)."""

from __future__ import annotations

import json

import pytest

from .harness import WELCOME, ChatEnv, direct

#: Names enough that a Welcome cannot fit a datagram (registry.core.table_feed.WELCOME_ROWS is ~50).
MANY = 80


def _table_of_many(chat: ChatEnv) -> None:
    """A table file of MANY offline names, as a registry that has run a while keeps."""
    rows = [
        {"name": f"n{i}", "ip": "127.0.0.1", "port": 20000 + i, "online": False,
         "token": "sha256:" + "0" * 64}
        for i in range(MANY)
    ]  # fmt: skip
    (chat.registry_dir / "table.json").write_text(json.dumps({"version": 1, "names": rows}))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("big_table", [False, True], ids=["datagram", "tcp"])
def test_a_peer_bound_to_an_address_registers_with_it_and_receives(
    chat: ChatEnv, big_table: bool
) -> None:
    if big_table:
        _table_of_many(chat)
    registry = chat.start_registry(options=["--no-desk-console"])
    alice = chat.start_peer("alice", wait=False, options=["--bind", "127.0.0.2"])
    alice.expect_line(WELCOME)
    registry.expect(r"registered alice at 127\.0\.0\.2:")
    (bob,) = chat.start_peers("bob")
    direct(bob, alice, "to the address alice is bound to")
