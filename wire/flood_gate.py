"""Flood control per source address: a token bucket per address (wire.token_bucket), asked
before anything that came is decoded. Sans-IO."""

from __future__ import annotations

from collections import OrderedDict

from wire.limits import REGISTRY_BURST, REGISTRY_RATE
from wire.token_bucket import FULL, BucketRule

Addr = tuple[str, int]
Key = tuple[str, int] | str  # an address, or an IP alone

#: Addresses tracked at once, the least recently heard forgotten first (spoofed sources).
MAX_TRACKED = 10_000
#: Seconds between two "you are too fast" notices to the same address.
WARN_EVERY = 5.0


class FloodGate:
    """Decides, per message, whether an address is within its rate."""

    def __init__(self, rate: float = REGISTRY_RATE, burst: float = REGISTRY_BURST) -> None:
        self._rule = BucketRule(rate, burst)
        # each address's bucket's due time, the least recently heard first
        self._dues: OrderedDict[Key, float] = OrderedDict()
        # when each address was last told it is too fast: only those told, all tracked
        self._warned: dict[Key, float] = {}
        self.dropped = 0

    @property
    def burst(self) -> float:
        return self._rule.burst

    def admit(self, addr: Key, now: float) -> tuple[bool, bool]:
        """Return (admitted, warn): whether to handle this message, and whether to tell the
        sender now that it is being slowed (at most once per WARN_EVERY seconds)."""
        if self.take(addr, now):
            return _ADMITTED
        self.dropped += 1
        warn = now - self._warned.get(addr, float("-inf")) >= WARN_EVERY
        if warn:
            self._warned[addr] = now
        return False, warn

    def wait(self, key: Key, now: float) -> float:
        """0 when `key` is within its rate (and this use is counted); else the seconds until
        it will be, and nothing is counted."""
        if self.take(key, now):
            return 0.0
        return self._rule.wait(self._dues[key], now)

    def ready_in(self, key: Key, now: float) -> float:
        """The seconds until `key` is within its rate (0: it is now, as `wait` would say);
        nothing is counted."""
        due = self._dues.get(key)
        return 0.0 if due is None else self._rule.wait(due, now)

    def take(self, key: Key, now: float) -> bool:
        """Whether `key` may make one use at `now` (counted if so, but not in `dropped`);
        `key` becomes the most recently heard."""
        dues = self._dues
        taken, due = self._rule.take(dues.pop(key, FULL), now)
        dues[key] = due
        if len(dues) > MAX_TRACKED:
            forgotten, _ = dues.popitem(last=False)
            self._warned.pop(forgotten, None)
        return taken


# what `admit` answers nearly always, made once
_ADMITTED = (True, False)
