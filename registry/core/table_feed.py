"""The table's changes saved and pushed (table_watch.py), the table as one answer, and the
views of the table that last until its next change. A change is pushed at once after an idle
spell; within COALESCE seconds of the last push (or PUSH_RATE's) changes are held and go out
together."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from registry.core.actions import Addr, Emit, SaveTable, Send
from registry.core.authority import Names
from registry.core.pushes import Audience
from registry.core.requests import Answers, Request
from registry.core.table import Record, Table
from registry.core.table_watch import ROWS_ROOM, TableWatch
from wire.codec import encoded_once, record_size
from wire.keys import key_from_text
from wire.limits import MAX_DATAGRAM
from wire.messages import Alias, Entry, TableRequest, TableSnapshot, TableUpdate, TooBig
from wire.names import name_key

#: Rows past which a whole table cannot fit a datagram (each at least the shortest row);
#: a Welcome carries the table only up to this many.
WELCOME_ROWS = MAX_DATAGRAM // (record_size(Entry("a", "", 1, True)) + 1)
#: Seconds during which table changes are gathered into one push (a join storm, churn)...
COALESCE = 0.05
#: ...or longer with many peers online: one push per PUSH_RATE peers a second at most.
PUSH_RATE = 2000
#: Released peers whose keys are kept to seal their release's pushes.
RELEASED_KEYS = 64


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


class TableFeed:
    """The changes of `table` saved and pushed; the aliases of `names` go with the table.
    The core changes the records, then tells `changed`."""

    def __init__(
        self, table: Table, names: Names, answers: Answers, timing: tuple[float, int]
    ) -> None:
        self._table, self._names, self._answers = table, names, answers
        #: the pushes to each online peer, which the core asks directly
        self.watch = TableWatch(answers.new_id, self.key_at, lambda: table.version, timing)
        # name keys of online records by address, and back; built once, kept by `changed`
        self._online_by_addr: dict[Addr, list[str]] | None = None
        self._indexed_at: dict[str, Addr] = {}
        # `key_at`'s answers, by address, each dropped as the index changes there
        self._keys_at: dict[Addr, bytes] = {}
        # every row, as one tuple, for a change
        self._entries_kept: tuple[int, tuple[Entry, ...]] = (-1, ())
        # a TableSnapshot's rows, encoded once (a msgspec.Raw) for their version
        self._snapshot_kept: tuple[int, Any] | None = None
        # the online peers (Audience, all of them) and the offline records, for a change;
        # and the last audience asked, without its sender
        self._roster: tuple[int, Audience, list[Record]] = (-1, ((), (), (), True), [])
        self._audience: tuple[int, str, Audience] = (-1, "", self._roster[1])
        self._generation = 0  # counts changes to the table, pushed or not yet
        # rows changed since the last push, by name key: the table's own, saved with it
        self._dirty = table.unpushed
        #: when the rows held are pushed (None: none held)
        self.flush_at: float | None = None
        # released names whose peers were online: they hear of it with the next push
        self._released_online: list[Record] = []
        # and their keys by address (`key_at`), the last RELEASED_KEYS of them
        self._released_keys: dict[Addr, bytes] = {}
        self._last_push = float("-inf")
        self._interval = COALESCE  # between two pushes: see PUSH_RATE

    def changed(self, record: Record, now: float, emit: Emit, rows: tuple[Entry, ...] = ()) -> None:
        """`record` changed: persist it, and push `rows` (else the record's own row), now or
        at `flush_at`."""
        emit(SaveTable((name_key(record.name), *(name_key(row.name) for row in rows))))
        self._generation += 1
        for row in rows or (record.entry(),):
            key = name_key(row.name)
            # to the end: the rows of one change (a rename's two) stay together
            self._dirty.pop(key, None)
            self._dirty[key] = row
            if self._online_by_addr is not None:
                self._index(self._online_by_addr, key)
        if not record.online and not self.online_at(record.addr):
            self.watch.forget(record.addr, record.key)
        idle = self.flush_at is None and now - self._last_push >= self._interval
        if self._released_online or idle:  # a released peer hears of it at once
            self.push_changes(now, emit)
        elif self.flush_at is None:
            self.flush_at = self._last_push + self._interval

    def released(self, record: Record, now: float, emit: Emit) -> None:
        """`record` was released: a row with port 0, pushed at once if its peer is online
        (to it too, sealed with its key)."""
        key = key_from_text(record.key) if record.online else None
        if record.online:
            self._released_online.append(record)
        if key is not None:
            self._released_keys.pop(record.addr, None)
            self._released_keys[record.addr] = key
            self._keys_at.pop(record.addr, None)
            if len(self._released_keys) > RELEASED_KEYS:
                oldest = next(iter(self._released_keys))
                del self._released_keys[oldest]
                self._keys_at.pop(oldest, None)
        self.changed(record, now, emit, rows=(Entry(record.name, record.ip, 0, False),))

    def push_changes(self, now: float, emit: Emit) -> None:
        """Push the held rows, as updates of the next versions, to every online peer."""
        rows = list(self._dirty.values())
        self._dirty.clear()
        self.flush_at, self._last_push = None, now
        updates = []
        for chunk in fitting(rows):
            self._table.version += 1
            updates.append(TableUpdate(self._answers.new_id(), self._table.version, chunk))
        online = [*self._table.online(), *self._released_online]
        self._released_online.clear()
        self._interval = max(COALESCE, len(online) / PUSH_RATE)
        # saved first: a version told a peer is never handed out again with other rows
        emit(SaveTable(()))
        if updates:
            self.watch.push(updates, [record.addr for record in online], now, emit)

    def acked(self, replies: Sequence[str], addr: Addr, now: float, emit: Emit) -> None:
        """`addr` acked `replies`: any table push among them tells its peers run."""
        if self.watch.acked(replies, addr, now, emit):
            for peer in self.online_at(addr):
                peer.last_seen = now

    def request(self, msg: TableRequest, req: Request, now: float, emit: Emit) -> None:
        """Answer with the whole table; asked by datagram, a table that surely cannot fit
        one (counted, not encoded: the endpoint answers the rest) is answered TooBig."""
        if req.datagram and len(self._table.records) > WELCOME_ROWS:
            self._answers.reply(req, emit, TooBig)
            return
        emit(Send(req.addr, self.snapshot(req.id), req.asker))
        self.watch.sent_table(req.addr, req.key, self._table.version)

    def snapshot(self, reply_to: str) -> TableSnapshot:
        """The whole table, answering `reply_to` ("": unasked); its rows encoded once per
        version (wire.codec.encoded_once)."""
        version, kept = self._table.version, self._snapshot_kept
        if kept is None or kept[0] != version:
            kept = self._snapshot_kept = (version, encoded_once(self.entries()))
        aliases = self._names.rows()
        return TableSnapshot(self._answers.new_id(), reply_to, version, kept[1], aliases)

    def welcome_rows(self) -> tuple[tuple[Entry, ...], tuple[Alias, ...]]:
        """The rows and aliases a Welcome carries: all up to WELCOME_ROWS, else none."""
        if len(self._table.records) > WELCOME_ROWS:
            return (), ()
        return self.entries(), self._names.rows()

    def entries(self) -> tuple[Entry, ...]:
        """Every row, as peers see it: one tuple until the table changes."""
        if self._entries_kept[0] != self._generation:
            rows = tuple(record.entry() for record in self._table.records.values())
            self._entries_kept = (self._generation, rows)
        return self._entries_kept[1]

    def audience(self, sender: str) -> Audience:
        """The online peers but the one of name key `sender`: the same tuples until the
        table changes (the endpoint knows a burst's members by identity)."""
        generation, who, audience = self._audience
        if generation != self._generation or who != sender:
            keys, addrs, publics, distinct = self.roster()[0]
            if sender in keys:
                at = keys.index(sender)
                keys, addrs = keys[:at] + keys[at + 1 :], addrs[:at] + addrs[at + 1 :]
                publics = publics[:at] + publics[at + 1 :]
            audience = (keys, addrs, publics, distinct)
            self._audience = (self._generation, sender, audience)
        return audience

    def roster(self) -> tuple[Audience, list[Record]]:
        """Every online peer, and the offline records: the same until the table changes."""
        if self._roster[0] != self._generation:
            keys: list[str] = []
            addrs: list[Addr] = []
            offline: list[Record] = []
            for key, record in self._table.records.items():
                if record.online:
                    keys.append(key)
                    addrs.append(record.addr)
                else:
                    offline.append(record)
            publics, distinct = tuple(map(self.key_at, addrs)), len(set(addrs)) == len(addrs)
            audience = (tuple(keys), tuple(addrs), publics, distinct)
            self._roster = (self._generation, audience, offline)
        return self._roster[1:]

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
