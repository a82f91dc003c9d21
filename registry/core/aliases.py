"""Names given up by renames a moment ago, each still leading to the peer that renamed.

Pure: the caller supplies `now`. For RENAME_GRACE seconds after a rename, the old name
finds the renamed peer's record (what was on its way to the old name, a direct message
saved at the registry, the peer's own retransmissions, is not lost) and nobody else may
take it. The table (registry/core/table.py) keeps the former names for longer, across restarts;
these aliases live in memory only.
"""

from __future__ import annotations

import math

from registry.core.table import Record, Table
from wire.messages import Alias
from wire.names import name_key
from wire.words import counted

#: Seconds a renamed peer's old name still leads to it, so that what was on its way to the
#: old name (a direct message saved at the registry, the peer's own retransmissions) is not
#: lost. Covers every retry and outcome wait several times over.
RENAME_GRACE = 300.0

#: Renames chained in quick succession followed at most (a chain cannot loop: a name taken
#: drops its own alias; this is a guard, not a limit anyone reaches).
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

    def owner(self, key: str) -> Record | None:
        """The record a push was made to, by the name key it had then: followed to its new
        name if it renamed meanwhile (within RENAME_GRACE nobody else can take the old one),
        so that a channel message it never acked still reaches its mailbox."""
        return self._table.records.get(key) or self.lookup(key)

    def reserved(self, name: str, asker: Record | None, now: float) -> str:
        """Why `name`, free in the table, cannot be taken by `asker` (None for a newcomer):
        it was given up by a rename within RENAME_GRACE and still leads to the peer that
        renamed, so that what was on its way to it reaches that peer, never a newcomer who
        took the name. Empty when it can be taken (by that peer itself, say)."""
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
        """The names given up by renames within RENAME_GRACE, each with the name it leads
        to (the end of a chain of renames), for peers that start with the whole table."""
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
        """Forget the aliases whose grace is over (the sweep's, once a keepalive period)."""
        for old, (_, until) in list(self._aliases.items()):
            if until <= now:
                del self._aliases[old]
