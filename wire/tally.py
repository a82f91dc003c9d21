"""Lines of one kind that others can make come by the hundred, kept few, sans-IO: said at once
within a burst, and beyond it counted, to be said in one line when due (`Tally`)."""

from __future__ import annotations

from msgspec import Struct


class Counted(Struct, frozen=True):
    """What a tally counted for its one line: `count` lines, the first `names` of those they
    were about (`others`: some more), and `last`, the line of the latest."""

    count: int
    names: list[str]
    others: bool
    last: str

    def named(self, more: str) -> str:
        return ", ".join(self.names) + (more if self.others else "")


class Tally:
    """Lines said at once within a burst of `burst`, which fills again at one line every
    `every` seconds; beyond it, each is counted (its name among the first `names_kept`) for
    one line at `due`, which `take` gives. A clock set back fills nothing, and brings that
    line nearer (at most `every` on)."""

    def __init__(self, burst: int, every: float, names_kept: int = 0) -> None:
        """Raises ValueError unless `burst` is at least 1 and `every` positive."""
        if burst < 1 or not every > 0:
            raise ValueError("a tally says a line at least, at a positive interval")
        self._every, self._names_kept = every, names_kept
        self._ahead = (burst - 1) * every  # the burst's lines before the steady rate's, in s
        # when the next line is due at one every `every`: those of the burst are before it
        self._next = float("-inf")
        self._count = 0
        self._names: dict[str, None] = {}  # (ordered, each once)
        self._others = False
        self._last = ""

    @property
    def due(self) -> float | None:
        """When the line for what is counted may be said, or None when nothing is."""
        return self._next - self._ahead if self._count else None

    def _ready(self, now: float) -> bool:
        """Whether a line may be said at `now` (a clock set back fills nothing)."""
        self._next = min(self._next, now + self._ahead + self._every)
        return now >= self._next - self._ahead

    def offer(self, now: float, name: str = "", line: str = "") -> bool:
        """Whether a line (about `name`) may be said at `now`. False: it is counted, `line`
        the latest, for the line at `due`."""
        if not self._count and self._ready(now):
            self._next = max(self._next, now) + self._every
            return True
        self._count += 1
        self._last = line
        if name in self._names or len(self._names) < self._names_kept:
            self._names[name] = None
        else:
            self._others = True
        return False

    def take(self, now: float) -> Counted | None:
        """What was counted, once its line is due at `now`: the caller says it, and it spends
        the whole burst. None before then, or when nothing is counted."""
        if not self._count or not self._ready(now):
            return None
        counted = Counted(self._count, list(self._names), self._others, self._last)
        self.cancel()
        self._next = now + self._ahead + self._every
        return counted

    def cancel(self) -> None:
        """Forget what was counted: it was said otherwise."""
        self._count, self._names, self._others, self._last = 0, {}, False, ""
