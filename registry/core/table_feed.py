"""The table's changes on their way to every online peer, and the table as one answer.

Pure: the caller supplies `now`. Which rows changed and when they are due is
registry/core/table_changes.py's; this part persists each change and pushes the updates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from registry.core.actions import Addr, Emit, SaveTable
from registry.core.aliases import Aliases
from registry.core.pacing import WELCOME_ROWS
from registry.core.pusher import Pusher
from registry.core.requests import Answers, send_to
from registry.core.table import Record, Table
from registry.core.table_changes import Roster, TableChanges
from registry.core.table_watch import Sends, TableWatch
from wire.messages import Alias, Entry, TableSnapshot, TableUpdate
from wire.names import name_key


class TableFeed:
    """The changes of `table`, pushed by `pusher`; `aliases` go with the whole table."""

    def __init__(
        self,
        table: Table,
        aliases: Aliases,
        pusher: Pusher,
        answers: Answers,
        changes: TableChanges,
    ) -> None:
        self._table = table
        self._aliases = aliases
        self._pusher = pusher
        self._answers = answers
        self.changes = changes
        # the name keys of the peers the updates are held back from, and those updates,
        # in order (see `hold`)
        self._held: set[str] = set()
        self._held_updates: list[TableUpdate] = []
        #: each online peer's acked version and the push in flight to it
        self.watch = TableWatch(changes.log, answers.new_id, *pusher.timing)

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
        A peer with a table push in flight gets them with its next one
        (registry/core/table_watch.py)."""
        updates, online = self.changes.updates(now, self._answers.new_id)
        # The versions are on disk before any peer hears of them: a registry killed between
        # the two must not hand out the same version again with other rows after a restart.
        emit(SaveTable(()))
        if self._held:
            self._held_updates += updates
            online = [record for record in online if name_key(record.name) not in self._held]
        there = self._pusher.handed_over
        if there:  # another registry of the service delivers these (Pusher.handed_over)
            handed = [record for record in online if record.addr in there]
            for update in updates:
                self._pusher.push_all(handed, update, "table", now, emit)
            online = [record for record in online if record.addr not in there]
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

    def hold(self, keys: Iterable[str], updates: Sequence[TableUpdate] = ()) -> None:
        """Hold the table's updates back from the peers of name `keys` from now on, with
        `updates` (the rows they missed), until each is released: they are about to be
        told that the registry is back (registry/core/restart_news.py), over a handshake each,
        and an update pushed to all of them at once would begin every handshake at once."""
        self._held.update(keys)
        self._held_updates += updates

    def release(self, records: list[Record], now: float, emit: Emit) -> None:
        """`records` are being told: push them the updates held back, and hold back no more."""
        held = self._held_updates
        self.unhold(name_key(record.name) for record in records)
        for update in held:
            self._pusher.push_all(records, update, "table", now, emit)

    def unhold(self, keys: Iterable[str]) -> None:
        """Hold nothing more back from the peers of `keys` (gone offline, or given up on);
        what was held is not pushed to them."""
        self._held.difference_update(keys)
        if not self._held:
            self._held_updates = []

    def take_unpushed(self, now: float, emit: Emit) -> list[TableUpdate]:
        """At a restart: the rows the table saved as changed and pushed to nobody (the
        registry stopped while it held them back), as the next version, to push to every
        peer online (with Restarted: registry/core/restart_news.py)."""
        if not self._table.unpushed:
            return []
        updates, _ = self.changes.updates(now, self._answers.new_id)
        emit(SaveTable(()))  # (the versions on disk before any peer hears of them)
        return updates

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
        updates reaches back that far (registry/core/table_log.py); else None: only the
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
