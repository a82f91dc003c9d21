"""How often the peer says one kind of news that can come in bursts: a few lines at once,
then one line now and then for all that came meanwhile.

A join storm, or a class whose scripted peers all quit at once, would otherwise print a
line per change (hundreds) on every screen, while a person starting or stopping now and
then is still told at once. Pure: the caller passes `now` and wakes at `due`.
"""

from __future__ import annotations

from wire.token_bucket import FULL, BucketRule


class LineBudget:
    """Lines of one kind said at once while within a burst of `burst`, which fills again at
    one line every `every` seconds; beyond it, what comes is held for one line at `due`."""

    def __init__(self, burst: int, every: float) -> None:
        """Raises ValueError unless `burst` is at least 1 and `every` positive."""
        if not every > 0:
            raise ValueError("every must be positive")
        self.burst = burst
        self.every = every
        self._rule = BucketRule(1.0 / every, burst)
        self._lines = FULL  # when the next line is due at one every `every` (wire.token_bucket)
        #: When the line for what is held is due, or None when nothing is held.
        self.due: float | None = None

    def take(self, now: float) -> bool:
        """Whether a line may be said at `now`. False: hold what it would have said for the
        line at `due` (set here when nothing was held yet)."""
        if self.due is not None:
            return False  # said by the line already due
        taken, self._lines = self._rule.take(self._lines, now)
        if not taken:
            self.due = self._rule.next_at(self._lines)
        return taken

    def fire(self, now: float) -> bool:
        """Whether the line for what is held is due at `now`; if so, the caller says it now,
        and it spends the budget (nothing is held any more)."""
        if self.due is None:
            return False
        # a clock set back fills nothing, and brings the line nearer: it must not hold the
        # line back for long (at most `every` from the step back)
        ready, self._lines = self._rule.take(self._lines, now)
        if not ready:
            self.due = self._rule.next_at(self._lines)
            return False
        self.due = None
        self._lines = self._rule.empty(now)
        return True

    def cancel(self) -> None:
        """What is held is said otherwise (a whole table covers the changes held back)."""
        self.due = None
