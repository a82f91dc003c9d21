"""Names given up by renames a moment ago, each still leading to the peer that renamed,
in memory only (the table keeps former names across restarts).
"""

from __future__ import annotations

import math

from registry.core.table import Record, Table
from wire.messages import Alias
from wire.names import name_key
from wire.words import counted

#: Seconds a renamed peer's old name still leads to it, and nobody else may take it.
RENAME_GRACE = 300.0

#: Renames chained in quick succession followed at most (a guard).
_MAX_CHAIN = 8


class Aliases:
    """Old name key -> (new name key, until when), over the records of `table`."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self._aliases: dict[str, tuple[str, float]] = {}

    def lookup(self, name: str) -> Record | None:
        """The record for `name`, following a recent rename (RENAME_GRACE) to its new name."""
        record = self._table.get(name)
        key = name_key(name)
        for _ in range(_MAX_CHAIN):
            if record is not None or key not in self._aliases:
                break
            key = self._aliases[key][0]
            record = self._table.records.get(key)
        return record

    def holder(self, name: str) -> Record | None:
        """The record `name` leads to: its own, a recent rename's, or one the table's
        former names lead to (asked under a name its owner gave up, after a restart)."""
        return self.lookup(name) or self._table.renamed_from(name)

    def owner(self, key: str) -> Record | None:
        """The record a push was made to, by its name key then, followed to its new name."""
        return self._table.records.get(key) or self.lookup(key)

    def reserved(self, name: str, asker: Record | None, now: float) -> str:
        """Why `name`, free in the table, cannot be taken by `asker` (None for a newcomer):
        it was given up by a rename within RENAME_GRACE; "" when it can be taken."""
        holder = self.lookup(name)
        if holder is None or holder is asker:
            return ""
        _, until = self._aliases[name_key(name)]
        if until <= now:  # over, though the sweep has not yet dropped it
            return ""
        minutes = max(1, math.ceil((until - now) / 60))
        return (
            f"{name} was renamed {holder.name} just now; the name stays theirs for "
            f"{counted(minutes, 'more minute')}, so that messages on their "
            f"way to {name} still reach them. Choose another name, or try again then."
        )

    def rows(self) -> tuple[Alias, ...]:
        """The names given up by renames within RENAME_GRACE, each with where it leads."""
        rows = []
        for old in self._aliases:
            record = self.lookup(old)
            if record is not None and name_key(record.name) != old:
                rows.append(Alias(old, record.name))
        return tuple(rows)

    def renamed(self, old_key: str, new_key: str, now: float) -> None:
        """The name keyed `old_key` was renamed to `new_key` at `now`."""
        if old_key == new_key:
            raise ValueError(f"a rename to the same name key {old_key!r} leaves no alias")
        self._aliases[old_key] = (new_key, now + RENAME_GRACE)
        self.taken(new_key)

    def taken(self, key: str) -> None:
        """The name keyed `key` is someone's now: it leads nowhere else."""
        self._aliases.pop(key, None)

    def expire(self, now: float) -> None:
        """Forget the aliases whose grace is over."""
        for old, (_, until) in list(self._aliases.items()):
            if until <= now:
                del self._aliases[old]
