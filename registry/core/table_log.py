"""The table's recent updates, kept so that a peer that missed some is sent what changed
after the version it holds rather than the whole table (a watch from a revision, as etcd's
`start_revision` or a NATS key-value history).

Pure: no clock, no sockets. The table's changes (registry/core/table_changes.py) add every
update they number; the table feed (registry/core/table_feed.py) asks for the rows since a
version when a peer's TableRequest says which one it holds.
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any, NamedTuple

from wire.codec import encoded_once
from wire.messages import Entry, TableUpdate
from wire.names import name_key

#: Updates kept: the last LOG_UPDATES versions. About 30 rows each, so a join storm of
#: thousands is still within reach a minute on; a peer further behind takes the whole table.
LOG_UPDATES = 512

#: Answers kept, by the version asked from, until the table's next version: in a join storm
#: hundreds of peers that missed one push ask from the same version at once.
KEPT_ANSWERS = 16


class Delta(NamedTuple):
    """The rows changed after a version, and the same encoded once to stand for them in
    every TableSnapshot that carries them (wire.codec.encoded_once)."""

    rows: tuple[Entry, ...]
    encoded: Any


class TableLog:
    """The last `keep` updates of the table, in version order with no gap, and the rows
    changed since any version they reach back to."""

    def __init__(self, keep: int = LOG_UPDATES) -> None:
        self._updates: deque[TableUpdate] = deque(maxlen=keep)
        # rows since a version (the key), for the newest version kept (`rows_since`)
        self._answers: dict[int, Delta] = {}

    def add(self, update: TableUpdate) -> None:
        """`update` is the table's next version. One that does not follow the last kept
        (the table's version jumped: a restart) starts the log again."""
        updates = self._updates
        if updates and update.version != updates[-1].version + 1:
            updates.clear()
        updates.append(update)
        self._answers.clear()

    def rows_since(self, since: int, version: int) -> Delta | None:
        """The rows that changed after version `since` up to `version` (the table's now),
        each as the last update has it, in the order of their last change (a rename's two
        rows stay together, the removal first); None when the log does not reach back to
        `since`, or does not end at `version`, or `since` is not a version of this table:
        then only the whole table will do. Encoded once per version asked from."""
        updates = self._updates
        last = updates[-1].version if updates else version
        first = updates[0].version if updates else version + 1
        if last != version or not first - 1 <= since <= version:
            return None
        kept = self._answers.get(since)
        if kept is not None:
            return kept
        rows: dict[str, Entry] = {}
        for at in range(since + 1 - first, len(updates)):
            for row in updates[at].entries:
                key = name_key(row.name)
                rows.pop(key, None)  # to the end: its last change's place
                rows[key] = row
        answer = Delta(tuple(rows.values()), encoded_once(tuple(rows.values())))
        if len(self._answers) >= KEPT_ANSWERS:
            del self._answers[next(iter(self._answers))]
        self._answers[since] = answer
        return answer

    def updates_since(self, since: int, version: int) -> list[TableUpdate] | None:
        """The updates after version `since` up to `version` (the table's now), oldest
        first; None when the log does not reach back to `since` or end at `version`."""
        updates = self._updates
        if not updates or updates[-1].version != version:
            return None
        first = updates[0].version
        if not first - 1 <= since <= version:
            return None
        return list(itertools.islice(updates, since + 1 - first, None))
