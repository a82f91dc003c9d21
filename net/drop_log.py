"""One log line per kind of rejection per interval, however many come (whoever sends
garbage would otherwise choose how often we write): the first of a kind at once, then a
count of those within INTERVAL after it. `DropLog` is sans-IO; `Rejections` runs one in
an asyncio program.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from msgspec import Struct

#: Seconds between two lines of the same kind.
INTERVAL = 10.0
#: Kinds told apart, at most (kinds are constants of the code, far fewer).
MAX_KINDS = 256
#: The kind every rejection takes once MAX_KINDS kinds are known.
OTHER_KIND = "other rejections"


class _Kind(Struct):
    logged: float  # when a line of this kind was last written
    held: int = 0  # rejections counted since, not yet told
    last: str = ""  # the line of the latest of them, as an example


class DropLog:
    """Writes rejections to `log`, at most one line per kind (a constant, never text from
    the network) per `interval` seconds."""

    def __init__(self, log: Callable[[str], None], interval: float = INTERVAL) -> None:
        #: Where the lines go.
        self.log = log
        self.interval = interval
        self._kinds: dict[str, _Kind] = {}
        #: Rejections of each kind so far, logged or not.
        self.counts: dict[str, int] = {}

    def drop(self, kind: str, line: str, now: float) -> None:
        if kind not in self._kinds and len(self._kinds) >= MAX_KINDS:
            kind = OTHER_KIND
        self.counts[kind] = self.counts.get(kind, 0) + 1
        entry = self._kinds.get(kind)
        if entry is None or (not entry.held and now - entry.logged >= self.interval):
            self._kinds[kind] = _Kind(now)
            self.log(line)
            return
        entry.held += 1
        entry.last = line
        if now - entry.logged >= self.interval:
            self._summary(entry, now)

    def total(self) -> int:
        return sum(self.counts.values())

    def due(self) -> float | None:
        """When `flush` next has a line to write (None: nothing is held)."""
        held = [entry.logged for entry in self._kinds.values() if entry.held]
        return min(held) + self.interval if held else None

    def flush(self, now: float) -> None:
        for entry in self._kinds.values():
            if entry.held and now - entry.logged >= self.interval:
                self._summary(entry, now)

    def _summary(self, entry: _Kind, now: float) -> None:
        more, entry.held, entry.logged = entry.held - 1, 0, now  # the line shown is one
        if more:
            self.log(f"{entry.last} [and {more} more like it since the last such line]")
        else:
            self.log(entry.last)


class Rejections:
    """A process's one log of rejections: call it with a kind and a line. Its counts are
    written by a timer of the running loop, and at `close`."""

    def __init__(self, log: Callable[[str], None], interval: float = INTERVAL) -> None:
        self.drops = DropLog(log, interval)
        self._clock = time.monotonic
        self._flush_timer: asyncio.TimerHandle | None = None

    def __call__(self, kind: str, line: str) -> None:
        drops = self.drops
        drops.drop(kind, line, self._clock())
        if self._flush_timer is None and drops.due() is not None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop: the next rejection writes the count
                return
            self._flush_timer = loop.call_later(drops.interval, self._flush)

    def _flush(self) -> None:
        self._flush_timer = None
        drops = self.drops
        drops.flush(self._clock())
        due = drops.due()
        if due is not None:
            delay = max(0.0, due - self._clock())
            self._flush_timer = asyncio.get_running_loop().call_later(delay, self._flush)

    def close(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        self.drops.flush(float("inf"))
