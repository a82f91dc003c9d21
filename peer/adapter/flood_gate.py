"""The peer's flood gate: what one address sends beyond a generous rate is dropped before
it is opened or decoded, as the registry does (wire/flood_gate.py), so that a flood from
one address costs the peer as little as possible and never takes its event loop.

Data (a DATA datagram) is not offered to it (the endpoint's `key_gate`): it is opened, as
WireGuard opens every transport datagram; one naming no live session at its source address
is dropped by its header, and a forged or replayed one costs one decryption. So the gate
counts handshakes and junk, and two peers chatting are bound only by their own speed. Only
while the peer lags behind its socket (as WireGuard's rules apply under load) is such data
counted, at the same rate, by the key that sealed it (`by_key`), so that one key's flood
cannot crowd out another's messages. Handshake initiations are further bounded by the
secure channel's load rule (secure/handshake_load.py).

The rate is far above what people and the registry send: a peer paces what its user types
below the registry's own limits (peer/core/requests.py), and the registry it talks to (whose
relays of a busy room or channel come all from one address) is never dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from wire.flood_gate import FloodGate
from wire.limits import REGISTRY_BURST, REGISTRY_RATE

Addr = tuple[str, int]

#: Messages a second one address may send a peer, on average and at once: twice what the
#: registry takes from one peer (wire/limits.py), which a peer's own sending stays below.
PEER_RATE = 2 * REGISTRY_RATE
PEER_BURST = 2 * REGISTRY_BURST


class UsesRegistry(Protocol):
    """Whatever says where the registry the peer uses now is (PeerCore)."""

    @property
    def server(self) -> Addr: ...


class PeerGate:
    """Admits what comes from an address within PEER_RATE (the registry at `peer.server`
    always, over it too); each drop is told to `rejected` (the one log of rejections:
    net/drop_log.py), which counts them and writes one line per interval. `clock`: the
    monotonic clock."""

    def __init__(
        self,
        peer: UsesRegistry,
        rejected: Callable[[str, str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._peer = peer
        self._rejected = rejected
        self._gate = FloodGate(PEER_RATE, PEER_BURST)
        self._keys = FloodGate(PEER_RATE, PEER_BURST)
        self._clock = clock
        #: Messages dropped so far.
        self.dropped = 0

    def __call__(self, addr: Addr) -> bool:
        """Whether to open what just came from `addr` (each message counts one). The
        registry's address is asked only once over the rate: it is never dropped."""
        if self._gate.take(addr, self._clock()) or addr == self._peer.server:
            return True
        self.dropped += 1
        self._rejected("flood", f"flood from {addr[0]}:{addr[1]}: dropped")
        return False

    def by_key(self, addr: Addr, key: bytes) -> bool:
        """Whether to decode a datagram of a live session, sealed by `key`, that came from
        `addr` while the peer lags behind its socket (each datagram counts one). The
        registry's address is asked only once over the rate: it is never dropped."""
        if self._keys.take(key.hex(), self._clock()) or addr == self._peer.server:
            return True
        self.dropped += 1
        self._rejected("flood", f"flood from the key at {addr[0]}:{addr[1]}: dropped")
        return False
