"""bench.direct's Timing: each direct message timed from its typed line to its receipt,
one at a time and several in flight, through the peers' public seams only.

alice and bob are real PeerNodes on real sockets of 127.0.0.1; a real registry in its own
process introduces them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench.common import HOST
from bench.direct import Timing, timed
from bench.harness import BenchPeer, start_registry
from peer.core.actions import Print
from peer.core.direct import RECEIVED_BY


async def _timed(
    folder: Path, one_at_a_time: int, together: int
) -> tuple[list[float], Timing, int]:
    """A Timing of alice's messages to bob: `one_at_a_time` sent each after the last one's
    receipt, then `together` typed at once. Returns the latencies, it and the receipts shown."""
    with start_registry("asyncio") as registry:
        server = (HOST, registry.ready["port"])
        alice = BenchPeer("alice", server, folder / "alice")
        bob = BenchPeer("bob", server, folder / "bob")
        for peer in (alice, bob):
            await peer.open()
        await bob.register()
        await alice.register()
        timing = Timing(alice)
        # each line reaching alice's screen, counted before it reaches the Timing
        receipts, timing_shows = [0], alice.node.carriers[Print]

        def shown(line: Print) -> None:
            receipts[0] += line.text == RECEIVED_BY.format("bob")
            timing_shows(line)

        alice.node.carriers[Print] = shown
        one, _ = await timed(timing, one_at_a_time, 1)
        together_, _ = await timed(timing, together, together)
        for peer in (alice, bob):
            await peer.close()
    return one + together_, timing, receipts[0]


@pytest.mark.timeout(60)
def test_every_receipt_is_timed_once_from_its_own_typed_line(tmp_path: Path) -> None:
    latencies, timing, receipts = asyncio.run(_timed(tmp_path, one_at_a_time=5, together=6))
    assert receipts == 11
    assert len(latencies) == 11
    assert all(0 < latency < 10.0 for latency in latencies)
    assert timing.typed_at == {}  # every message typed was matched to its receipt
    assert timing.unmatched == 0
