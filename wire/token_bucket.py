"""A token bucket kept as one due time (the generic cell rate algorithm, GCRA), shared by
the registry's flood gate and budgets (registry.core.flood) and the peer's pace and folded lines
(peer.core.requests, peer.core.change_lines).

Pure: no clock. A `BucketRule` (rate and burst) is immutable and shared; the state of each
bucket is one float, its `due`, which the caller keeps (`FULL` for a bucket not used yet)
and passes back with `now`, so that the registry's ten thousand addresses cost a float each.

Why this form:
- A use is allowed when `now` has reached the very time `next_at` gives: counting fractions
  of tokens (`tokens + (now - at) * rate`) at a clock of 1.7e9 seconds rounded a wake-up's
  worth short, and a peer woken at the announced time found nothing ready, again and again.
  `next_at` is the earliest time, to the bit, at which `take` succeeds.
- `due` is counted in intervals (seconds times the rate), not in seconds, so that a use adds
  exactly 1. In seconds, each use added 1/rate rounded to the clock's last bit: at 1.7e9 s
  (a bit is 0.24 us) the registry's 2 ms interval came out 0.1 us long, and a burst of 1000
  at one instant admitted 999. Times are converted once per call, so rounding never adds
  up; and a sum that crosses a power of two, where a bit is lost, is rounded down, so that
  a burst at one instant never comes out a bit short of its last use.
- A clock stepped back (the registry and peers use the wall clock) leaves a bucket as if it
  were empty at `now`: it fills nothing from the step, and is never stalled until the clock
  is back where it was, only for one interval.
"""

from __future__ import annotations

import math
from typing import Final

#: The `due` of a bucket not used yet (or not lately): its whole burst is in hand.
FULL: Final = float("-inf")

# the largest level below 1: what `level` says when no whole use is in hand
_UNDER_ONE: Final = math.nextafter(1.0, 0.0)


class BucketRule:
    """`rate` uses a second on average, `burst` at once, for every bucket kept by its `due`.

    `due` is when the next use is due at the average rate, in intervals (`now * rate`):
    a use may be made while `now * rate` has reached `due - (burst - 1)`. Exact while
    `now * rate` stays below 2**52 (a rate of two million a second at today's clock)."""

    __slots__ = ("burst", "rate")

    def __init__(self, rate: float, burst: float) -> None:
        """Raises ValueError unless `rate` is positive and `burst` at least 1 (finite both):
        any other bucket would never let anything through."""
        if not (math.isfinite(rate) and rate > 0 and math.isfinite(burst) and burst >= 1):
            raise ValueError("rate must be positive and burst at least 1")
        self.rate: Final = float(rate)
        self.burst: Final = float(burst)

    def take(self, due: float, now: float, keep: float = 0.0) -> tuple[bool, float]:
        """Whether one use may be made at `now` with `keep` more uses still in hand after
        it, and the bucket's `due` afterwards: with the use counted if so, and in either
        case to be kept (a clock stepped back is settled in it)."""
        # as `_settled` and `_ready`, written out: the registry does this for every datagram
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
        """When the next use may be made (with `keep` more left in hand), as of `due`: the
        earliest time at which `take` succeeds, whatever the rounding; any time at or
        before `now` when one may be made already (minus infinity for a bucket not used
        yet)."""
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
        exactly when `take` would succeed at `now`, else at most `1 + keep` intervals,
        however far back the clock was stepped. Nothing is counted."""
        at = now * self.rate
        due = self._settled(due, at)
        if at >= self._ready(due, keep):
            return 0.0
        return self.next_at(due, keep) - now

    def level(self, due: float, now: float) -> float:
        """The uses in hand at `now`, from 0 to `burst` (all of it for `FULL`): at least 1
        exactly when `take` would succeed at `now`. Nothing is counted."""
        at = now * self.rate
        due = self._settled(due, at)
        if due <= at:
            return self.burst
        left = max(0.0, self.burst - (due - at))
        # the times decide, as in `take`: the count only follows them
        if at >= self._ready(due, 0.0):
            return max(1.0, left)
        return min(left, _UNDER_ONE)

    def empty(self, now: float) -> float:
        """The `due` of a bucket emptied at `now`: its next use comes one interval later."""
        return _sum_down(now * self.rate, self.burst)

    def _settled(self, due: float, at: float) -> float:
        """`due` as of `at` (in intervals): a clock stepped back finds the bucket empty at
        `at`, not stalled until the clock is back where it was."""
        if due > at + self.burst:
            return _sum_down(at, self.burst)
        return due

    def _ready(self, due: float, keep: float) -> float:
        """From when (in intervals) a use may be made with `keep` more left in hand: the
        one expression that both `take` and `next_at` compare with."""
        return due - (self.burst - 1.0) + keep


def _sum_down(x: float, y: float) -> float:
    """`x + y` rounded down (towards minus infinity) rather than to the nearest float: the
    rounding error of the sum is found exactly (Knuth's TwoSum)."""
    total = x + y
    y_part = total - x
    error = (x - (total - y_part)) + (y - y_part)  # x + y == total + error, exactly
    return math.nextafter(total, -math.inf) if error < 0 else total
