"""The table's changes on their way to the peers, and the views of the table that last
until its next change.

Pure: no clock, no sockets. A change of the table (a registration, a peer gone offline, a
rename, a release) is a few rows. When the registry has been idle, they are pushed at
once; within COALESCE seconds of the last push (longer with many peers online: PUSH_RATE)
they are held and go out together, cut into updates that each fit one datagram, so a burst
of registrations costs a few pushes rather than one per pair of peers. The core's table
feed (registry/core/table_feed.py) says what changed and pushes the updates; this object
keeps the rows, says when they are due, and numbers the updates with the table's versions.

Every change counts one generation. The online peers as push targets (`Roster`: a channel
message is relayed to them) and the rows as a Welcome or a TableSnapshot carries them are
built again only when the generation moved; the online peers by address, and the rows by
name, are kept up to date row by row, as each change comes (a registration in a table of
thousands asks for its address, and is answered with every row).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from registry.core.actions import Addr
from registry.core.table import Record, Table
from registry.core.table_log import TableLog
from wire.codec import encode, encoded_once, record_size
from wire.keys import key_from_text
from wire.limits import MAX_DATAGRAM, MAX_ID
from wire.messages import Entry, TableUpdate
from wire.names import name_key

#: Seconds during which table changes are gathered into one push (a join storm, churn)...
COALESCE = 0.05
#: ...or longer with many peers online: one push per PUSH_RATE peers a second at most
#: (0.5 s with 1,000 online), so that pushing the table costs the registry about the same
#: however many peers there are, and registrations are answered first in a join storm.
PUSH_RATE = 2000

#: Released peers whose keys are kept to seal their release's pushes (and its retries):
#: releases are typed on the registry's console, a few at a time.
RELEASED_KEYS = 64

#: Room in a datagram for a TableUpdate's rows: the message around them (its longest id and
#: the largest versions the codec accepts) takes what is left.
ROWS_ROOM = MAX_DATAGRAM - len(encode(TableUpdate("x" * MAX_ID, 2**63 - 1, (), 2**63 - 1)))


def fitting(rows: list[Entry]) -> list[tuple[Entry, ...]]:
    """`rows`, in order, cut into runs that each fit one TableUpdate datagram. A removal
    (port 0) is never cut from a row after it at the same IP: peers recognise a rename by
    the two in one update."""
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
    """The rows of `table` changed and not pushed yet, when they are due, and the views of
    the table kept until its next change. The table itself is the core's: it changes the
    records, then tells `changed`."""

    def __init__(self, table: Table) -> None:
        self._table = table
        # the name keys of the online records at each address, and the address each is
        # indexed at; built from the table at the first question, then kept by `changed`
        self._online_by_addr: dict[Addr, list[str]] | None = None
        self._indexed_at: dict[str, Addr] = {}
        # `key_at`'s answers found, by address, each dropped as the index changes there: a
        # push looks up every online peer's
        self._keys_at: dict[Addr, bytes] = {}
        self._roster_kept = Roster(-1, {})
        # every row by name key, as the peers are told them; built from the table at the
        # first question, then kept by `changed`; and as one tuple, for a generation
        self._rows: dict[str, Entry] | None = None
        self._entries_kept: tuple[int, tuple[Entry, ...]] = (-1, ())
        # the rows a TableSnapshot carries, encoded once for the version they stand for
        self._snapshot_kept: tuple[int, tuple[Entry, ...]] | None = None
        self._generation = 0  # counts changes to the table, pushed or not yet
        # rows changed since the last push, by name key: the table's own, saved with it
        self._dirty = table.unpushed
        self._flush_at: float | None = None
        # released names whose peers were online: they hear of it with the next push, so
        # that they go offline rather than take the name back with their next keepalive
        self._released_online: list[Record] = []
        # and their keys by address, what is pushed there is sealed for (`key_at`), the
        # last RELEASED_KEYS of them
        self._released_keys: dict[Addr, bytes] = {}
        self._last_push = float("-inf")
        self._interval = COALESCE  # between two pushes: see PUSH_RATE
        #: The updates numbered lately, for a peer that missed some (registry/core/table_log.py).
        self.log = TableLog()

    @property
    def flush_at(self) -> float | None:
        """When the rows held back are due to be pushed (`updates`); None when none are.
        Read-only."""
        return self._flush_at

    def changed(self, rows: Iterable[Entry], now: float) -> bool:
        """`rows` of the table changed at `now`: keep them for the next push. True when
        that push is to go now (the last one was COALESCE seconds ago or more, or longer
        with many online: PUSH_RATE); else the rows are held until `flush_at`, with any
        that follow."""
        self._generation += 1
        for row in rows:
            key = name_key(row.name)
            # to the end: the rows of one change (a rename's two) stay next to each other
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
        """`record`, online, was released (it is no longer in the table): its peer is
        pushed the next updates too."""
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
        """Take the rows held at `now` as updates that each fit a datagram, each the
        table's next version (ids from `new_id`), and the peers to push them to: the
        online ones and those of names released since the last push."""
        rows = list(self._dirty.values())
        self._dirty.clear()
        self._flush_at = None
        self._last_push = now
        updates = []
        # As many rows as fit a datagram: about 30 of a LAN's usual ~35-byte rows (a row
        # with a 32-character name and an IPv6 address takes ~90)
        for chunk in fitting(rows):
            self._table.version += 1
            updates.append(TableUpdate(new_id(), self._table.version, chunk))
            self.log.add(updates[-1])
        online = [*self._table.online(), *self._released_online]
        self._released_online.clear()
        self._interval = max(COALESCE, len(online) / PUSH_RATE)
        return updates, online

    def roster(self) -> Roster:
        """The online and offline peers, kept until the table changes: a channel burst
        relays every message to the same members."""
        if self._roster_kept.generation != self._generation:
            self._roster_kept = Roster(self._generation, self._table.records)
        return self._roster_kept

    def entries(self) -> tuple[Entry, ...]:
        """Every row of the table, as a Welcome or a TableSnapshot carries them: the same
        tuple until the table changes (a restarted registry is asked for the whole table by
        every peer), and never built from the records again after the first time (a join
        storm answers each of thousands of registrations with every row)."""
        if self._entries_kept[0] != self._generation:
            rows = self._rows
            if rows is None:
                rows = self._rows = {key: r.entry() for key, r in self._table.records.items()}
            self._entries_kept = (self._generation, tuple(rows.values()))
        return self._entries_kept[1]

    def snapshot_rows(self) -> tuple[Entry, ...]:
        """Every row as a TableSnapshot at the table's version carries them, encoded once
        (wire.codec.encoded_once) and shared by every snapshot until the next push: in a
        join storm thousands of peers ask for the table within one push interval. Taken
        at the first question, it may hold rows changed since the version (pushed with the
        next: applied twice, they change nothing), and may lack the rows changed after
        it, even the asker's own (the next push brings them)."""
        version = self._table.version
        kept = self._snapshot_kept
        if kept is None or kept[0] != version:
            kept = self._snapshot_kept = (version, encoded_once(self.entries()))
        return kept[1]

    def online_at(self, where: Addr) -> list[Record]:
        """The online records at `where`: at most one, since a registration takes over its
        address (Presence.take_over; a table kept by an earlier version may hold
        more)."""
        by_addr = self._online_by_addr
        if by_addr is None:
            by_addr = self._online_by_addr = {}
            for key in self._table.records:
                self._index(by_addr, key)
        keys = by_addr.get(where)
        if not keys:
            return []
        records = self._table.records
        return [records[key] for key in keys]

    def key_at(self, where: Addr) -> bytes:
        """The public key of the peer online at `where`: whom what is sent there is for;
        else of the peer last released there while online, which is pushed its release
        (b"": none)."""
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
        """Index in `by_addr` the record keyed `key` at its address if it is online, as
        the table has it now (the core changes the records before it tells `changed`),
        and nowhere else."""
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
    """The table's online peers as push targets, their name keys and their addresses in two
    tuples, and its offline records, in table order, as of table change number
    `generation`."""

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
        """The name keys and addresses of the online peers but the one whose name key is
        `key` (sliced out, not filtered in a Python loop: a relay to hundreds of members
        does this per message)."""
        at = self._at.get(key)
        if at is None:
            return self.keys, self.addrs
        keys, addrs = self.keys, self.addrs
        return keys[:at] + keys[at + 1 :], addrs[:at] + addrs[at + 1 :]
