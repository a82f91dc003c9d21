"""Lines of one kind that others can make come by the thousand (offers refused, offers
lapsed): the first is said at once, in full; those that come in the next EVERY seconds
are counted, and said in one line then."""

from __future__ import annotations

from collections.abc import Callable

from peer.core.actions import Print

Emit = Callable[[Print], None]
#: Seconds at least between two lines of one tally.
EVERY = 10.0
#: Names a summary line gives, at most (then "and others").
NAMES_SAID = 3


class LineTally:
    """Says lines of one kind, at most one every EVERY seconds; `summary(count, names,
    last)` words the line for `count` more of them, from `names`, the last of which said
    `last`."""

    def __init__(self, summary: Callable[[int, str, str], str], every: float = EVERY) -> None:
        self._summary = summary
        self._every = every
        self._quiet_until = float("-inf")
        self._count = 0
        self._names: dict[str, None] = {}  # the first NAMES_SAID, in order
        self._others = False
        self._last = ""

    def say(self, line: Callable[[], str], name: str, last: str, now: float, emit: Emit) -> None:
        """The line `line()` words (about `name`; `last`, its gist for a summary): said now
        if the tally is quiet, else counted (and not worded)."""
        self.tick(now, emit)
        if now >= self._quiet_until:
            emit(Print(line(), "error"))
            self._quiet_until = now + self._every
            return
        self._count += 1
        self._last = last
        if name in self._names or len(self._names) < NAMES_SAID:
            self._names[name] = None
        else:
            self._others = True

    def tick(self, now: float, emit: Emit) -> None:
        """Say what was counted, once EVERY seconds have passed since the last line."""
        if self._count and now >= self._quiet_until:
            names = ", ".join(self._names) + (" and others" if self._others else "")
            emit(Print(self._summary(self._count, names, self._last), "error"))
            self._quiet_until = now + self._every
            self._count, self._names, self._others = 0, {}, False

    def next_wake(self) -> float | None:
        """When `tick` has a line to say, or None."""
        return self._quiet_until if self._count else None
