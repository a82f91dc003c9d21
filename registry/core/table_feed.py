"""The table's changes on their way to every online peer, and the table as one answer.

Pure: the caller supplies `now`. Which rows changed and when they are due is
registry/core/table_changes.py's; this part persists each change and pushes the updates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from registry.core.actions import Addr, Emit, SaveTable
from registry.core.aliases import Aliases
from registry.core.pacing import WELCOME_ROWS
from registry.core.requests import Answers, send_to
from registry.core.table import Record, Table
from registry.core.table_changes import Roster, TableChanges
from registry.core.table_watch import Sends, TableWatch
from wire.messages import Alias, Entry, TableSnapshot
from wire.names import name_key


class TableFeed:
    """The changes of `table`, each pushed through one watch; `aliases` go with the whole
    table."""

    def __init__(
        self,
        table: Table,
        aliases: Aliases,
        timing: tuple[float, int],
        answers: Answers,
        changes: TableChanges,
    ) -> None:
        """`timing`: the wait for an ack and the copies in all, as every push's
        (registry/core/pusher.py)."""
        self._table = table
        self._aliases = aliases
        self._answers = answers
        self.changes = changes
        #: each online peer's acked version and the push in flight to it
        self.watch = TableWatch(changes.log, answers.new_id, *timing)

    def changed(self, record: Record, now: float, emit: Emit, rows: tuple[Entry, ...] = ()) -> None:
        """`record` changed: persist it, and push the changed rows (`rows`, else the
        record's own row) to the online peers, at once or together with the changes that
        follow (registry/core/table_changes.py)."""
        emit(SaveTable((name_key(record.name), *(name_key(row.name) for row in rows))))
        pushed = self.changes.changed(rows or (record.entry(),), now)
        if not record.online and not self.changes.online_at(record.addr):
            self.watch.forget(record.addr, record.key)
        if pushed:
            self.push_changes(now, emit)

    def due(self, now: float) -> bool:
        """Whether held changes are due to be pushed at `now`."""
        flush_at = self.changes.flush_at
        return flush_at is not None and now >= flush_at

    def push_changes(self, now: float, emit: Emit) -> None:
        """Push the held rows to every online peer, as versioned updates that each fit a
        datagram; a peer that registered meanwhile gets them too (they repeat its Welcome).
        A peer with a table push in flight, or held, gets them with its next one
        (registry/core/table_watch.py)."""
        updates, online = self.changes.updates(now, self._answers.new_id)
        # The versions are on disk before any peer hears of them: a registry killed between
        # the two must not hand out the same version again with other rows after a restart.
        emit(SaveTable(()))
        if updates:
            self._send(self.watch.push(updates, [record.addr for record in online], now), emit)

    def welcomed(self, record: Record, version: int, rows: bool) -> None:
        """`record`'s peer was welcomed at table `version`, with the table's `rows` or
        without (it fetches the table next): its pushes start from there."""
        self.watch.welcomed(record.addr, record.key, version, fetching=not rows)

    def acked(self, replies: Sequence[str], addr: Addr, now: float, emit: Emit) -> bool:
        """`addr` acked `replies`: whether any were table pushes to it (its peers are then
        heard from at `now`); the rows changed since are pushed once all of its push is
        acked (registry/core/table_watch.py)."""
        took, sends = self.watch.acked(replies, addr, self._table.version, now)
        self._send(sends, emit)
        if took:
            for peer in self.changes.online_at(addr):
                peer.last_seen = now
        return took

    def retry(self, now: float, emit: Emit) -> None:
        """Send again the table pushes whose wait is over (registry/core/table_watch.py)."""
        self._send(self.watch.due(self._table.version, now), emit)

    def _send(self, sends: Sends, emit: Emit) -> None:
        key_at = self.changes.key_at
        for addrs, update in sends:
            if addrs:
                emit(send_to(addrs, update, key_at))

    def hold(self, records: Iterable[Record]) -> None:
        """Push nothing to the peers of `records` until they are released: they are about to
        be told that the registry is back (registry/core/restart_news.py), over a handshake
        each, and an update pushed to all of them at once would begin every handshake at
        once (registry/core/table_watch.py)."""
        self.watch.hold((record.addr for record in records), self._table.version)

    def release(self, records: Iterable[Record], now: float, emit: Emit) -> None:
        """`records` are being told: push each every row changed since the version it
        acked, and hold it back no more."""
        addrs = [record.addr for record in records]
        self._send(self.watch.release(addrs, self._table.version, now), emit)

    def push_unpushed(self, now: float, emit: Emit) -> None:
        """At a start: push the rows the table saved as changed and pushed to nobody (the
        registry stopped while it held them back), as the next version, as any change is."""
        if self._table.unpushed:
            self.push_changes(now, emit)

    def released(self, record: Record, now: float, emit: Emit) -> None:
        """`record` was taken out of the table (the console released it): peers learn it
        as a row with port 0, which means "this name is gone"; its peer too, if online, and
        then at once, not held back with the changes that follow: a registry killed
        meanwhile would not know to tell it after its restart."""
        row = Entry(record.name, record.ip, 0, False)
        if not record.online:
            self.changed(record, now, emit, rows=(row,))
            return
        self.changes.released_online(record)
        self.changes.changed((row,), now)
        emit(SaveTable((name_key(record.name),)))
        self.push_changes(now, emit)  # (saved first)

    def changes_since(self, reply_to: str, since: int) -> TableSnapshot | None:
        """The rows changed after version `since` answering `reply_to`, while the log of
        updates reaches back that far (registry/core/table_changes.py); else None: only the
        whole table will do."""
        version = self._table.version
        delta = self.changes.log.rows_since(since, version) if since >= 0 else None
        if delta is None:
            return None
        return TableSnapshot(self._answers.new_id(), reply_to, version, delta.encoded, (), since)

    def snapshot(self, reply_to: str) -> TableSnapshot:
        """The whole table, with the aliases, answering `reply_to` ("": unasked)."""
        rows = self.changes.snapshot_rows()  # (encoded once per version)
        version, aliases = self._table.version, self._aliases.rows()
        return TableSnapshot(self._answers.new_id(), reply_to, version, rows, aliases)

    def welcome_rows(self) -> tuple[tuple[Entry, ...], tuple[Alias, ...]]:
        """The rows and aliases a Welcome carries: the whole table while it fits a datagram
        (WELCOME_ROWS), else none. A registration stays a datagram's round trip however big
        the table: the peer then asks for the table once (a TableRequest, answered with the
        snapshot every asker at this version shares), and takes the pushes from there."""
        if len(self._table.records) > WELCOME_ROWS:
            return (), ()
        return self.changes.entries(), self._aliases.rows()

    def entries(self) -> tuple[Entry, ...]:
        """Every row of the table, as peers see it (registry/core/table_changes.py)."""
        return self.changes.entries()

    def online_at(self, where: Addr) -> list[Record]:
        """The online records at `where` (registry/core/table_changes.py)."""
        return self.changes.online_at(where)

    def roster(self) -> Roster:
        """The online and offline peers, as push targets (registry/core/table_changes.py)."""
        return self.changes.roster()
