"""The table's changes saved and pushed (table_watch.py), and the table as one answer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from registry.core.actions import Addr, Emit, SaveTable, Send
from registry.core.authority import Names
from registry.core.requests import Answers, Request, send_to
from registry.core.table import Record, Table
from registry.core.table_changes import TableChanges
from registry.core.table_watch import Sends, TableWatch
from wire.codec import record_size
from wire.limits import MAX_DATAGRAM
from wire.messages import Alias, Entry, TableRequest, TableSnapshot, TooBig
from wire.names import name_key

#: Rows past which a whole table cannot fit a datagram (each at least the shortest row);
#: a Welcome carries the table only up to this many.
WELCOME_ROWS = MAX_DATAGRAM // (record_size(Entry("a", "", 1, True)) + 1)


class TableFeed:
    """The changes of `table` saved and pushed; the aliases of `names` go with the table."""

    def __init__(
        self,
        table: Table,
        names: Names,
        timing: tuple[float, int],
        answers: Answers,
        changes: TableChanges,
    ) -> None:
        self._table = table
        self._names = names
        self._answers = answers
        self.changes = changes
        self.watch = TableWatch(answers.new_id, *timing)

    def changed(self, record: Record, now: float, emit: Emit, rows: tuple[Entry, ...] = ()) -> None:
        """`record` changed: persist it, and push `rows` (else the record's own row)."""
        emit(SaveTable((name_key(record.name), *(name_key(row.name) for row in rows))))
        pushed = self.changes.changed(rows or (record.entry(),), now)
        if not record.online and not self.changes.online_at(record.addr):
            self.watch.forget(record.addr, record.key)
        if pushed:
            self.push_changes(now, emit)

    def push_changes(self, now: float, emit: Emit) -> None:
        """Push the held rows to every online peer."""
        updates, online = self.changes.updates(now, self._answers.new_id)
        # saved first: a version told a peer is never handed out again with other rows
        emit(SaveTable(()))
        if updates:
            self._send(self.watch.push(updates, [record.addr for record in online], now), emit)

    def acked(self, replies: Sequence[str], addr: Addr, now: float, emit: Emit) -> bool:
        """`addr` acked `replies`: whether any were table pushes to it."""
        took, sends = self.watch.acked(replies, addr, self._table.version, now)
        self._send(sends, emit)
        if took:
            for peer in self.changes.online_at(addr):
                peer.last_seen = now
        return took

    def retry(self, now: float, emit: Emit) -> None:
        self._send(self.watch.due(self._table.version, now), emit)

    def _send(self, sends: Sends, emit: Emit) -> None:
        key_at = self.changes.key_at
        for addrs, update in sends:
            if addrs:
                emit(send_to(addrs, update, key_at))

    def hold(self, records: Iterable[Record]) -> None:
        """Push nothing to the peers of `records` until `resume`."""
        self.watch.hold((record.addr for record in records), self._table.version)

    def resume(self, records: Iterable[Record], now: float, emit: Emit) -> None:
        addrs = [record.addr for record in records]
        self._send(self.watch.resume(addrs, self._table.version, now), emit)

    def released(self, record: Record, now: float, emit: Emit) -> None:
        """`record` was released: a row with port 0, pushed at once if its peer is online."""
        row = Entry(record.name, record.ip, 0, False)
        if not record.online:
            self.changed(record, now, emit, rows=(row,))
            return
        self.changes.released_online(record)
        self.changes.changed((row,), now)
        emit(SaveTable((name_key(record.name),)))
        self.push_changes(now, emit)  # (saved first)

    def request(self, msg: TableRequest, req: Request, now: float, emit: Emit) -> None:
        """Answer with the whole table; asked by datagram, a table that surely cannot fit
        one (counted, not encoded: the endpoint answers the rest) is answered TooBig."""
        if req.datagram and len(self._table.records) > WELCOME_ROWS:
            self._answers.reply(req, emit, TooBig)
            return
        emit(Send(req.addr, self.snapshot(req.id), req.asker))
        self.watch.sent_table(req.addr, req.key, self._table.version)

    def told(self, addr: Addr, held: int, now: float, emit: Emit) -> int:
        """The peer at `addr` holds the table at `held`: the version to tell it in Alive;
        what it missed is pushed (TableWatch.heard, told)."""
        version = self._table.version
        self._send(self.watch.heard(addr, held, version, now), emit)
        return self.watch.told(addr, version)

    def snapshot(self, reply_to: str) -> TableSnapshot:
        """The whole table, answering `reply_to` ("": unasked)."""
        rows = self.changes.snapshot_rows()
        version, aliases = self._table.version, self._names.rows()
        return TableSnapshot(self._answers.new_id(), reply_to, version, rows, aliases)

    def welcome_rows(self) -> tuple[tuple[Entry, ...], tuple[Alias, ...]]:
        """The rows and aliases a Welcome carries: all up to WELCOME_ROWS, else none."""
        if len(self._table.records) > WELCOME_ROWS:
            return (), ()
        return self.changes.entries(), self._names.rows()
