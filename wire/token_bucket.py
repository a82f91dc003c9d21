"""A token bucket kept as one due time (the generic cell rate algorithm, GCRA), sans-IO: a
`BucketRule` is shared; each bucket is one float, its `due`, which the caller keeps (`FULL`
at first). `due` is counted in intervals, so that a use adds exactly 1; `next_at` is exact
to the bit; a clock stepped back leaves a bucket as if empty at `now`. `FloodGate` keeps a
bucket per source address, asked before anything that came is decoded.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Final

from wire.limits import REGISTRY_BURST, REGISTRY_RATE

#: The `due` of a bucket not used yet (or not lately): its whole burst is in hand.
FULL: Final = float("-inf")


class BucketRule:
    """`rate` uses a second on average, `burst` at once. `due` is when the next use is due
    at the average rate, in intervals: a use may be made once `now * rate` reaches
    `due - (burst - 1)`. Exact while `now * rate` stays below 2**52."""

    __slots__ = ("burst", "rate")

    def __init__(self, rate: float, burst: float) -> None:
        if not (math.isfinite(rate) and rate > 0 and math.isfinite(burst) and burst >= 1):
            raise ValueError("rate must be positive and burst at least 1")
        self.rate: Final = float(rate)
        self.burst: Final = float(burst)

    def take(self, due: float, now: float, keep: float = 0.0) -> tuple[bool, float]:
        """Whether one use may be made at `now` with `keep` more still in hand after it, and
        the `due` to keep afterwards (the use counted if so)."""
        # settled as `wait` settles, and `_ready` written out: the registry does this per datagram
        at = now * self.rate
        burst = self.burst
        if due > at + burst:
            due = _sum_down(at, burst)
        if at < due - (burst - 1.0) + keep:
            return False, due
        base = due if due > at else at
        added = base + 1.0
        if base >= 1.0 and added - base == 1.0:  # exact (Dekker's Fast2Sum): nearly always
            return True, added
        return True, _sum_down(base, 1.0)

    def next_at(self, due: float, keep: float = 0.0) -> float:
        """The earliest time at which `take` succeeds (with `keep` more left in hand), as of
        `due`, whatever the rounding (minus infinity for `FULL`)."""
        ready = self._ready(due, keep)
        at = ready / self.rate
        if not math.isfinite(at):
            return at
        # to the bit: the very time from which `take`, converting it back, lets one through
        while at * self.rate < ready:
            at = math.nextafter(at, math.inf)
        while (earlier := math.nextafter(at, -math.inf)) * self.rate >= ready:
            at = earlier
        return at

    def wait(self, due: float, now: float, keep: float = 0.0) -> float:
        """Seconds from `now` until one use may be made (with `keep` more left in hand): 0
        exactly when `take` would succeed. Nothing is counted."""
        at = now * self.rate
        if due > at + self.burst:
            due = _sum_down(at, self.burst)
        if at >= self._ready(due, keep):
            return 0.0
        return self.next_at(due, keep) - now

    def empty(self, now: float) -> float:
        return _sum_down(now * self.rate, self.burst)

    def _ready(self, due: float, keep: float) -> float:
        return due - (self.burst - 1.0) + keep


def _sum_down(x: float, y: float) -> float:
    """`x + y` rounded down rather than to the nearest float (Knuth's TwoSum)."""
    total = x + y
    y_part = total - x
    error = (x - (total - y_part)) + (y - y_part)  # x + y == total + error, exactly
    return math.nextafter(total, -math.inf) if error < 0 else total


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
