"""Flood control per source address, the way ngIRCd limits commands per client: a token
bucket per address. Pure: the caller supplies `now`."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

Addr = tuple[str, int]

#: Messages per second one address may send the registry, on average.
RATE = 500.0
#: Messages one address may send in a burst above the average.
BURST = 1000.0
#: Addresses tracked at once; the least recently heard is forgotten first, so that a flood
#: of spoofed source addresses cannot grow this table without bound.
MAX_TRACKED = 10_000
#: Seconds between two "you are too fast" notices to the same address.
WARN_EVERY = 5.0


@dataclass
class _Bucket:
    tokens: float
    at: float
    warned: float = float("-inf")
    dropped: int = 0


class FloodGate:
    """Decides, per message, whether an address is within its rate."""

    def __init__(self, rate: float = RATE, burst: float = BURST) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: OrderedDict[Addr, _Bucket] = OrderedDict()
        self.dropped = 0

    def admit(self, addr: Addr, now: float) -> tuple[bool, bool]:
        """Return (admitted, warn): whether to handle this message, and whether to tell the
        sender now that it is being slowed (at most once per WARN_EVERY seconds)."""
        bucket = self._buckets.get(addr)
        if bucket is None:
            bucket = _Bucket(self.burst, now)
            self._buckets[addr] = bucket
            if len(self._buckets) > MAX_TRACKED:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(addr)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return True, False
        bucket.dropped += 1
        self.dropped += 1
        warn = now - bucket.warned >= WARN_EVERY
        if warn:
            bucket.warned = now
        return False, warn
