"""The peer's flood gate (wire/token_bucket.py): what one address sends beyond a generous
rate is dropped unopened."""

from __future__ import annotations

import time
from collections.abc import Callable

from peer.core.actions import Addr
from wire.limits import REGISTRY_BURST, REGISTRY_RATE
from wire.token_bucket import FloodGate, Key

#: Messages a second one address may send a peer: twice what the registry takes from one.
PEER_RATE = 2 * REGISTRY_RATE
PEER_BURST = 2 * REGISTRY_BURST


class PeerGate:
    """Admits what comes from an address within PEER_RATE (the registry at `server()`
    always); each drop is told to `rejected` (net/drop_log.py)."""

    def __init__(
        self,
        server: Callable[[], Addr],
        rejected: Callable[[str, str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._server = server
        self._rejected = rejected
        self._gate = FloodGate(PEER_RATE, PEER_BURST)
        self._keys = FloodGate(PEER_RATE, PEER_BURST)
        self._clock = clock
        self.dropped = 0

    def __call__(self, addr: Addr) -> bool:
        """Whether to open what just came from `addr` (each message counts one)."""
        return self._admits(self._gate, addr, addr, "")

    def by_key(self, addr: Addr, key: bytes) -> bool:
        """Whether to decode a live session's datagram sealed by `key` while the peer lags."""
        return self._admits(self._keys, key.hex(), addr, "the key at ")

    def _admits(self, gate: FloodGate, source: Key, addr: Addr, what: str) -> bool:
        if gate.take(source, self._clock()) or addr == self._server():
            return True
        self.dropped += 1
        self._rejected("flood", f"flood from {what}{addr[0]}:{addr[1]}: dropped")
        return False
