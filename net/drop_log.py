"""One log line per kind of rejected input per interval, however much of it comes.

Whoever sends garbage chooses how often we would otherwise write: every bad datagram or
connection logged alone once wrote tens of thousands of lines in seconds, burying what
mattered and filling the disk. So the first rejection of each kind is logged at once (it
says what is going on), and the ones after it within INTERVAL are only counted: the next
line of that kind, no sooner than INTERVAL after the last, says how many there were.

Sans-IO: every call takes `now` (monotonic seconds); the owner calls `flush(now)` once
`due()` has passed, so that the count of a burst that stopped is still told.
"""

from __future__ import annotations

from collections.abc import Callable

from msgspec import Struct

#: Seconds between two lines of the same kind.
INTERVAL = 10.0


class _Kind(Struct):
    logged: float  # when a line of this kind was last written
    held: int = 0  # rejections counted since, not yet told
    last: str = ""  # the line of the latest of them, as an example


class DropLog:
    """Writes rejections to `log`, at most one line per kind per `interval` seconds.

    `kind` names a class of rejection and must come from a fixed set (a constant of the
    caller, never text from the network): there is one entry per kind.
    """

    def __init__(self, log: Callable[[str], None], interval: float = INTERVAL) -> None:
        self._log = log
        self.interval = interval
        self._kinds: dict[str, _Kind] = {}
        #: Rejections of each kind so far, logged or not.
        self.counts: dict[str, int] = {}

    def drop(self, kind: str, line: str, now: float) -> None:
        """One rejection of `kind`, described by `line`: written now if no line of its kind
        was written within the interval, else counted for the next one."""
        self.counts[kind] = self.counts.get(kind, 0) + 1
        entry = self._kinds.get(kind)
        if entry is None or (not entry.held and now - entry.logged >= self.interval):
            self._kinds[kind] = _Kind(now)
            self._log(line)
            return
        entry.held += 1
        entry.last = line
        if now - entry.logged >= self.interval:
            self._summary(entry, now)

    def due(self) -> float | None:
        """When `flush` next has a line to write (None: nothing is held)."""
        held = [entry.logged for entry in self._kinds.values() if entry.held]
        return min(held) + self.interval if held else None

    def flush(self, now: float) -> None:
        """Write the count of every kind whose interval is over."""
        for entry in self._kinds.values():
            if entry.held and now - entry.logged >= self.interval:
                self._summary(entry, now)

    def _summary(self, entry: _Kind, now: float) -> None:
        more, entry.held, entry.logged = entry.held - 1, 0, now  # the line shown is one
        if more:
            self._log(f"{entry.last} [and {more} more like it since the last such line]")
        else:
            self._log(entry.last)
