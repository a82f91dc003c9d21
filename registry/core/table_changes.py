"""The table's changes on their way to the peers, and the views of the table that last
until its next change. A change is pushed at once after an idle spell; within COALESCE
seconds of the last push (or PUSH_RATE's) changes are held and go out together."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from registry.core.actions import Addr
from registry.core.table import Record, Table
from wire.codec import encode, encoded_once, record_size
from wire.keys import key_from_text
from wire.limits import MAX_DATAGRAM, MAX_ID
from wire.messages import Entry, TableUpdate
from wire.names import name_key

#: Seconds during which table changes are gathered into one push (a join storm, churn)...
COALESCE = 0.05
#: ...or longer with many peers online: one push per PUSH_RATE peers a second at most.
PUSH_RATE = 2000

#: Released peers whose keys are kept to seal their release's pushes.
RELEASED_KEYS = 64

#: Room in a datagram for a TableUpdate's rows, around the longest message.
ROWS_ROOM = MAX_DATAGRAM - len(encode(TableUpdate("x" * MAX_ID, 2**63 - 1, (), 2**63 - 1)))


def fitting(rows: list[Entry]) -> list[tuple[Entry, ...]]:
    """`rows`, in order, cut into runs that each fit one TableUpdate datagram; a removal
    (port 0) stays with a row after it at the same IP (peers see a rename in the two)."""
    chunks: list[tuple[Entry, ...]] = []
    chunk: list[Entry] = []
    used = 0
    for row in rows:
        size = record_size(row) + 1  # and the comma
        if chunk and used + size > ROWS_ROOM:
            last = chunk[-1]
            carried = len(chunk) > 1 and last.port == 0 and last.ip == row.ip
            if carried:
                chunk.pop()
            chunks.append(tuple(chunk))
            chunk, used = ([last], record_size(last) + 1) if carried else ([], 0)
        chunk.append(row)
        used += size
    if chunk:
        chunks.append(tuple(chunk))
    return chunks


class TableChanges:
    """The rows of `table` changed and not pushed yet, and the views of the table; the core
    changes the records, then tells `changed`."""

    def __init__(self, table: Table) -> None:
        self._table = table
        # name keys of online records by address, and back; built once, kept by `changed`
        self._online_by_addr: dict[Addr, list[str]] | None = None
        self._indexed_at: dict[str, Addr] = {}
        # `key_at`'s answers, by address, each dropped as the index changes there
        self._keys_at: dict[Addr, bytes] = {}
        self._roster_kept = Roster(-1, {})
        # every row by name key, kept as `_online_by_addr` is; and as one tuple
        self._rows: dict[str, Entry] | None = None
        self._entries_kept: tuple[int, tuple[Entry, ...]] = (-1, ())
        # the rows a TableSnapshot carries, encoded once (a msgspec.Raw) for their version
        self._snapshot_kept: tuple[int, Any] | None = None
        self._generation = 0  # counts changes to the table, pushed or not yet
        # rows changed since the last push, by name key: the table's own, saved with it
        self._dirty = table.unpushed
        self._flush_at: float | None = None
        # released names whose peers were online: they hear of it with the next push
        self._released_online: list[Record] = []
        # and their keys by address (`key_at`), the last RELEASED_KEYS of them
        self._released_keys: dict[Addr, bytes] = {}
        self._last_push = float("-inf")
        self._interval = COALESCE  # between two pushes: see PUSH_RATE

    @property
    def flush_at(self) -> float | None:
        return self._flush_at

    def changed(self, rows: Iterable[Entry], now: float) -> bool:
        """`rows` changed at `now`: whether to push now (else held until `flush_at`)."""
        self._generation += 1
        for row in rows:
            key = name_key(row.name)
            # to the end: the rows of one change (a rename's two) stay together
            self._dirty.pop(key, None)
            self._dirty[key] = row
            if self._online_by_addr is not None:
                self._index(self._online_by_addr, key)
            if self._rows is not None:
                if row.port:
                    self._rows[key] = row
                else:
                    self._rows.pop(key, None)  # released, or renamed away
        if self._flush_at is None:
            if now - self._last_push >= self._interval:
                return True
            self._flush_at = self._last_push + self._interval
        return False

    def released_online(self, record: Record) -> None:
        """`record`, online, was released: its peer is pushed the next updates too."""
        self._released_online.append(record)
        key = key_from_text(record.key)
        if key is not None:
            self._released_keys.pop(record.addr, None)
            self._released_keys[record.addr] = key
            self._keys_at.pop(record.addr, None)
            if len(self._released_keys) > RELEASED_KEYS:
                oldest = next(iter(self._released_keys))
                del self._released_keys[oldest]
                self._keys_at.pop(oldest, None)

    def updates(
        self, now: float, new_id: Callable[[], str]
    ) -> tuple[list[TableUpdate], list[Record]]:
        """The rows held, as updates of the next versions; and the peers to push them to."""
        rows = list(self._dirty.values())
        self._dirty.clear()
        self._flush_at = None
        self._last_push = now
        updates = []
        for chunk in fitting(rows):
            self._table.version += 1
            updates.append(TableUpdate(new_id(), self._table.version, chunk))
        online = [*self._table.online(), *self._released_online]
        self._released_online.clear()
        self._interval = max(COALESCE, len(online) / PUSH_RATE)
        return updates, online

    def roster(self) -> Roster:
        if self._roster_kept.generation != self._generation:
            self._roster_kept = Roster(self._generation, self._table.records)
        return self._roster_kept

    def entries(self) -> tuple[Entry, ...]:
        """Every row, as peers see it: one tuple until the table changes."""
        if self._entries_kept[0] != self._generation:
            rows = self._rows
            if rows is None:
                rows = self._rows = {key: r.entry() for key, r in self._table.records.items()}
            self._entries_kept = (self._generation, tuple(rows.values()))
        return self._entries_kept[1]

    def snapshot_rows(self) -> Any:
        """Every row, encoded once per table version (wire.codec.encoded_once)."""
        version = self._table.version
        kept = self._snapshot_kept
        if kept is None or kept[0] != version:
            kept = self._snapshot_kept = (version, encoded_once(self.entries()))
        return kept[1]

    def online_at(self, where: Any) -> list[Record]:
        """The online records at the Addr `where`."""
        by_addr = self._online_by_addr
        if by_addr is None:
            by_addr = self._online_by_addr = {}
            for key in self._table.records:
                self._index(by_addr, key)
        keys = by_addr.get(where)
        if not keys:
            return []
        records = self._table.records
        if len(keys) == 1:  # (every datagram asks: a comprehension costs twice as much)
            return [records[keys[0]]]
        return [records[key] for key in keys]

    def key_at(self, where: Addr) -> bytes:
        """The public key of the peer online (else last released) at `where`."""
        key = self._keys_at.get(where)
        if key is not None:
            return key
        for record in self.online_at(where):
            key = key_from_text(record.key)
            if key is not None:
                self._keys_at[where] = key
                return key
        key = self._released_keys.get(where, b"")
        if key:
            self._keys_at[where] = key
        return key

    def _index(self, by_addr: dict[Addr, list[str]], key: str) -> None:
        was = self._indexed_at.pop(key, None)
        if was is not None:
            self._keys_at.pop(was, None)
            keys = by_addr[was]
            keys.remove(key)
            if not keys:
                del by_addr[was]
        record = self._table.records.get(key)
        if record is not None and record.online:
            addr = record.addr  # one tuple for both dicts: a registry keeps one per peer
            self._keys_at.pop(addr, None)
            # a list, not a set: one key nearly always, in a quarter of a set's memory
            by_addr.setdefault(addr, []).append(key)
            self._indexed_at[key] = addr


class Roster:
    """The online peers' keys and addresses, and the offline records, at `generation`."""

    __slots__ = ("_at", "addrs", "distinct", "generation", "keys", "offline")

    def __init__(self, generation: int, records: dict[str, Record]) -> None:
        self.generation = generation
        keys: list[str] = []
        addrs: list[Addr] = []
        self.offline: list[Record] = []
        for key, record in records.items():
            if record.online:
                keys.append(key)
                addrs.append(record.addr)
            else:
                self.offline.append(record)
        self.keys, self.addrs = tuple(keys), tuple(addrs)
        self._at = {key: i for i, key in enumerate(keys)}  # name key -> index in both
        #: whether no two online peers share an address (Pushes.add_many asks for it)
        self.distinct = len(set(addrs)) == len(addrs)

    def online_but(self, key: str) -> tuple[tuple[str, ...], tuple[Addr, ...]]:
        at = self._at.get(key)
        if at is None:
            return self.keys, self.addrs
        keys, addrs = self.keys, self.addrs
        return keys[:at] + keys[at + 1 :], addrs[:at] + addrs[at + 1 :]
