"""What every connection of a process may hold in all of messages not yet whole (each up to
MAX_FRAME, after a handshake anyone can make). Over the budget, the connection holding the
most is dropped: an honest message completes within moments, and is sent again.

Sans-IO: the caller says what each connection holds after every read, and closes the ones
`hold` names.
"""

from __future__ import annotations

from collections.abc import Hashable

#: Bytes all connections of a process may hold at once in messages not yet whole: eight
#: maximal messages.
BUFFER_BUDGET = 32 * 1024 * 1024


class BufferBudget:
    """The bytes each connection holds, and their total against `budget`."""

    def __init__(self, budget: int = BUFFER_BUDGET) -> None:
        """Raises ValueError unless `budget` is positive."""
        if budget <= 0:
            raise ValueError("the budget must be positive")
        self.budget = budget
        self.total = 0
        self._held: dict[Hashable, int] = {}
        #: Connections named for dropping so far.
        self.dropped = 0

    def hold(self, conn: Hashable, size: int) -> list[Hashable]:
        """`conn` now holds `size` bytes. Returns the connections to drop to come back
        within the budget, those holding most first (`conn` may be one of them); they
        hold nothing from now on."""
        self.total += size - self._held.get(conn, 0)
        if size:
            self._held[conn] = size
        else:
            self._held.pop(conn, None)
        drop: list[Hashable] = []
        while self.total > self.budget:
            largest = max(self._held, key=self._held.__getitem__)
            self.total -= self._held.pop(largest)
            self.dropped += 1
            drop.append(largest)
        return drop

    def release(self, conn: Hashable) -> None:
        """`conn` is closed: it holds nothing."""
        self.total -= self._held.pop(conn, 0)

    def held(self, conn: Hashable) -> int:
        """Bytes `conn` holds."""
        return self._held.get(conn, 0)
