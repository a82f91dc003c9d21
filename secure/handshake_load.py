"""When a responder is under load, and what each source address may ask of it then: WireGuard's
rules (wireguard-go's device/device.go `IsUnderLoad`, ratelimiter/ratelimiter.go) on a rate
rather than a queue, sans-IO: every call takes `now` from a monotonic clock.

A responder counts the initiations that reach it with a valid mac1. Beyond LOAD_RATE a
second (LOAD_BURST at once) it is under load, and stays so UNDER_LOAD_FOR after the last
initiation over that rate. Under load it answers an initiation with a full handshake only
when its mac2 shows the sender receives at its source address (secure/cookie.py), and each IP
address gets at most SOURCE_RATE handshakes a second (SOURCE_BURST at once).
"""

from __future__ import annotations

from wire.flood_gate import FloodGate
from wire.token_bucket import FULL, BucketRule

#: Initiations a second, on average and at once, a responder answers without cookies. A
#: full handshake costs a responder some 0.5 ms: this is a few percent of a CPU.
LOAD_RATE = 50.0
LOAD_BURST = 100.0
#: Seconds a responder stays under load after an initiation over its rate (WireGuard's
#: UnderLoadAfterTime).
UNDER_LOAD_FOR = 1.0
#: Handshakes one IP address may make a second under load, and at once (WireGuard's
#: ratelimiter: packetsPerSecond, packetsBurstable).
SOURCE_RATE = 20.0
SOURCE_BURST = 5.0


class HandshakeLoad:
    """A responder's load, and the budget of each source address under load."""

    def __init__(self) -> None:
        self._rule = BucketRule(LOAD_RATE, LOAD_BURST)
        self._due = FULL
        self._until = float("-inf")
        self._sources = FloodGate(SOURCE_RATE, SOURCE_BURST)

    def under_load(self, now: float) -> bool:
        """Count one initiation with a valid mac1 arriving at `now`: whether the responder
        is under load."""
        taken, self._due = self._rule.take(self._due, now)
        if not taken:
            self._until = now + UNDER_LOAD_FOR
        return now < self._until

    def admit(self, ip: str, now: float) -> bool:
        """Whether `ip` may have a handshake at `now`, under load (counted if so)."""
        return self._sources.take(ip, now)
