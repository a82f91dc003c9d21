"""How often the peer says one kind of news that can come in bursts: a few lines at once,
then one line now and then for all that came meanwhile.

A join storm, or a class whose scripted peers all quit at once, would otherwise print a
line per change (hundreds) on every screen, while a person starting or stopping now and
then is still told at once. Pure: the caller passes `now` and wakes at `due`.
"""

from __future__ import annotations


class LineBudget:
    """Lines of one kind said at once while within a burst of `burst`, which fills again at
    one line every `every` seconds; beyond it, what comes is held for one line at `due`."""

    def __init__(self, burst: int, every: float) -> None:
        self.burst = burst
        self.every = every
        self._left = float(burst)  # lines that may be said at once now
        self._filled_at = float("-inf")  # when `_left` was last brought up to date
        #: When the line for what is held is due, or None when nothing is held.
        self.due: float | None = None

    def take(self, now: float) -> bool:
        """Whether a line may be said at `now`. False: hold what it would have said for the
        line at `due` (set here when nothing was held yet)."""
        if self.due is not None:
            return False  # said by the line already due
        # a clock set back fills nothing (it must not hold the line back for long)
        filled = max(0.0, now - self._filled_at) / self.every
        self._left = min(float(self.burst), self._left + filled)
        self._filled_at = now
        if self._left >= 1.0:
            self._left -= 1.0
            return True
        self.due = now + (1.0 - self._left) * self.every
        return False

    def fire(self, now: float) -> bool:
        """Whether the line for what is held is due at `now`; if so, the caller says it now,
        and it spends the budget (nothing is held any more)."""
        if self.due is None or now < self.due:
            return False
        self.due = None
        self._left, self._filled_at = 0.0, now
        return True

    def cancel(self) -> None:
        """What is held is said otherwise (a whole table covers the changes held back)."""
        self.due = None
