"""PeerNode: only what proves the registry's key tells that the registry runs. Its key sent
in clear can come from anyone posing at its address (a replay of an answer once captured):
counted, it would keep a peer on a dead registry instead of moving it to another."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.peer.test_node_batches import REGISTRY, SERVER, started_node


@pytest.mark.needs_pure  # replaces the endpoint's send (started_node)
def test_the_registrys_key_in_clear_is_not_taken_as_the_registry_heard(tmp_path: Path) -> None:
    async def main() -> tuple[float, float, float]:
        node = started_node(tmp_path, [])
        watch = node.core.parts.shared.requests
        before = watch.heard_at
        node.endpoint.on_key(SERVER, REGISTRY)  # a KEY_ANSWER, from its address, its key
        after_key = watch.heard_at
        node.endpoint.on_handshake(SERVER, REGISTRY)  # a handshake: the key proved
        after_handshake = watch.heard_at
        node.stop()
        return before, after_key, after_handshake

    before, after_key, after_handshake = asyncio.run(asyncio.wait_for(main(), 10))
    assert after_key == before
    assert after_handshake > before
