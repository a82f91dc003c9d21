"""One log line per kind of rejection per interval, however many come (whoever sends
garbage would otherwise choose how often we write): the first of a kind at once, then a
count of those within INTERVAL after it.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable

from net.wake import WakeTimer
from wire.tally import Tally

#: Seconds between two lines of the same kind.
INTERVAL = 10.0
#: Kinds told apart, at most (kinds are constants of the code, far fewer).
MAX_KINDS = 256
#: The kind every rejection takes once MAX_KINDS kinds are known.
OTHER_KIND = "other rejections"


class Rejections:
    """A process's one log of rejections: writes them to `log`, at most one line per kind (a
    constant, never text from the network) per `interval` seconds. Called with a kind and a
    line, it reads the monotonic clock, and its counts are written by a timer of the running
    loop, and at `close`; `drop` and `flush` do the same at a `now` given, sans-IO."""

    def __init__(self, log: Callable[[str], None], interval: float = INTERVAL) -> None:
        #: Where the lines go.
        self.log = log
        self.interval = interval
        self._kinds: dict[str, Tally] = {}
        #: Rejections of each kind so far, logged or not (`counts.total()`: of every kind).
        self.counts: Counter[str] = Counter()
        self._timer = WakeTimer(self._woken)

    def __call__(self, kind: str, line: str) -> None:
        self.drop(kind, line, time.monotonic())
        if self._timer.at is None:
            with contextlib.suppress(RuntimeError):  # no loop: the next rejection writes the count
                self._timer.set(self.due())

    def _woken(self) -> None:
        self.flush(time.monotonic())
        self._timer.set(self.due())

    def close(self) -> None:
        self._timer.cancel()
        self.flush(float("inf"))

    def drop(self, kind: str, line: str, now: float) -> None:
        if kind not in self._kinds and len(self._kinds) >= MAX_KINDS:
            kind = OTHER_KIND
        self.counts[kind] += 1
        if (tally := self._kinds.get(kind)) is None:
            tally = self._kinds[kind] = Tally(1, self.interval)
        if tally.offer(now, line=line):
            self.log(line)
        else:  # counted; the interval over, the count goes with this one
            self._told(tally, now)

    def due(self) -> float | None:
        """When `flush` next has a line to write (None: nothing is held)."""
        return min(
            (due for tally in self._kinds.values() if (due := tally.due) is not None), default=None
        )

    def flush(self, now: float) -> None:
        for tally in self._kinds.values():
            self._told(tally, now)

    def _told(self, tally: Tally, now: float) -> None:
        """The line for what `tally` counted, if due at `now`: the last, with the count of
        the others."""
        if (held := tally.take(now)) is not None:
            more = held.count - 1
            count = f" [and {more} more like it since the last such line]" if more else ""
            self.log(held.last + count)
