"""The table's pushes to each online peer, a watch with acknowledged revisions (as etcd's):
a peer is pushed every row changed since the version it acked, one push in flight, resent
on its round trip's timeout as the newest state, given up after ATTEMPTS copies. A peer
behind is pushed what it missed from the log of the last updates, or, past the log, told
the newest version (it takes the whole table)."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Container, Iterable, Sequence

from msgspec import Struct

from registry.core.actions import Addr, Send, SendMany
from registry.core.requests import send_to
from wire.codec import encode, record_size
from wire.limits import MAX_DATAGRAM, MAX_ID
from wire.messages import Entry, TableUpdate
from wire.names import name_key
from wire.reliable import ATTEMPTS, RTO_MAX, TIMEOUT, Retransmitter, RoundTrip

#: Room in a datagram for a TableUpdate's rows, around the longest message.
ROWS_ROOM = MAX_DATAGRAM - len(encode(TableUpdate("x" * MAX_ID, 2**63 - 1, (), 2**63 - 1)))
#: Updates kept for a peer that missed some (about 30 rows each).
LOG_UPDATES = 512

#: Datagrams in one push at most: the rest go after its ack.
BATCH = 16

#: A cursor's `acked` while its peer fetches the whole table (`TableWatch.welcomed`).
FETCHING = -2

#: Where a watch's pushes go, in order: a registry's actions, or its relay's endpoint.
Out = Callable[[Send | SendMany], None]


class Cursor(Struct):
    """The online peer at `addr`: the version it acked (-1: not known; or FETCHING), its
    round trip, and the updates of every copy of the push in flight to it (none: no push)."""

    addr: Addr
    acked: int
    round_trip: RoundTrip
    flying: tuple[TableUpdate, ...] = ()


class TableWatch:
    """The pushes to the peers of a table whose newest version `version()` says, each
    sealed for the key `key_at` gives its address."""

    def __init__(
        self,
        new_id: Callable[[], str],
        key_at: Callable[[Addr], bytes],
        version: Callable[[], int],
        timing: tuple[float, int] = (TIMEOUT, ATTEMPTS),
    ) -> None:
        # the last updates pushed, in version order with no gap
        self._log: deque[TableUpdate] = deque(maxlen=LOG_UPDATES)
        self._new_id, self._key_at, self._version = new_id, key_at, version
        self._floor = timing[0]
        self._cursors: dict[Addr, Cursor] = {}
        # the address each welcomed peer's public key (wire.keys.key_text) was welcomed at
        self._addr_of_key: dict[str, Addr] = {}
        #: the pushes in flight, by str(address); a copy waits on its peer's round trip
        self.in_flight: Retransmitter[Cursor] = Retransmitter(
            *timing, round_trip_of=lambda cursor: cursor.round_trip
        )
        # catch-ups by the version they start from, all up to `_caught_up_to`
        self._catch_ups: dict[int, tuple[TableUpdate, ...] | None] = {}
        self._caught_up_to = -1
        #: the addresses another registry of the service delivers the table to
        self.handed_over: Container[Addr] = frozenset()
        #: the addresses pushed nothing until released (`resume`), whatever their cursor (one
        #: not known holds the version the first push held back from it starts at)
        self.held: Container[Addr] = frozenset()

    def welcomed(self, addr: Addr, key: str, version: int, *, fetching: bool = False) -> None:
        """The peer at `addr`, of key `key`, was welcomed at `version`; or, `fetching`, it
        asks for the whole table next, and is pushed nothing until `answered`."""
        if addr in self.handed_over:
            return
        self.forget(addr)
        self._watch(addr, FETCHING if fetching else version)
        if key:
            self._addr_of_key[key] = addr

    def sent_table(self, addr: Addr, key: str, version: int) -> None:
        """The peer at `addr`, or of key `key` (TCP comes from another port), was sent the
        table at `version`: later pushes to it start there."""
        cursor = self._cursors.get(addr)
        if cursor is None and key in self._addr_of_key:
            cursor = self._cursors.get(self._addr_of_key[key])
        if cursor is not None and cursor.acked < version:
            cursor.acked = version

    def forget(self, addr: Addr, key: str = "") -> None:
        if self._cursors.pop(addr, None) is not None:
            self.in_flight.answer(str(addr))
        if self._addr_of_key.get(key) == addr:
            del self._addr_of_key[key]

    def keep_only(self, addrs: Container[Addr]) -> None:
        if gone := {addr for addr in self._cursors if addr not in addrs}:
            for addr in gone:
                self.forget(addr)
            keys = self._addr_of_key
            self._addr_of_key = {key: addr for key, addr in keys.items() if addr not in gone}

    def resume(self, addrs: Iterable[Addr], now: float, out: Out) -> None:
        """Each peer at `addrs` not held nor with a push in flight: pushed what changed since."""
        behind: dict[int, list[Addr]] = {}
        version = self._version()
        for addr in addrs:
            cursor = self._cursors.get(addr)
            if cursor is None or addr in self.held:
                continue
            if not cursor.flying and 0 <= cursor.acked < version:
                behind.setdefault(cursor.acked, []).append(addr)
        self._catch_up_all(behind, now, out)

    def push(
        self, updates: Sequence[TableUpdate], addrs: Iterable[Addr], now: float, out: Out
    ) -> None:
        """`updates`, the table's newest versions, for the peers at `addrs`: sent now (not to
        a peer with a push in flight, or held)."""
        log = self._log
        for update in updates:
            if log and update.version != log[-1].version + 1:
                log.clear()  # (a gap: the log starts again)
            log.append(update)
        fresh: list[Addr] = []
        elsewhere: list[Addr] = []
        behind: dict[int, list[Addr]] = {}
        first, version = updates[0].start(), updates[-1].version
        cursors, there, held = self._cursors, self.handed_over, self.held
        for addr in addrs:
            if addr in there:
                elsewhere.append(addr)
                self.forget(addr)  # (it moved there: its cursor is that registry's now)
                continue
            cursor = cursors.get(addr) or self._watch(addr, -1)
            if addr in held and cursor.acked == -1:
                cursor.acked = first
            if cursor.flying or addr in held or cursor.acked == FETCHING:
                continue
            if cursor.acked < 0 or cursor.acked == first:
                fresh.append(addr)
            elif cursor.acked < version:
                behind.setdefault(cursor.acked, []).append(addr)
        batch = tuple(updates)
        for addr in fresh:
            self._sent(cursors[addr], batch, now)
        if fresh := fresh + elsewhere:  # (sent alike; tracked by the registry they came through)
            self._out(fresh, batch, out)
        self._catch_up_all(behind, now, out)

    def acked(self, ids: Sequence[str], addr: Addr, now: float, out: Out) -> bool:
        """The peer at `addr` acked `ids`: whether any were its pushes (what is next goes)."""
        cursor = self._cursors.get(addr)
        if cursor is None or not cursor.flying:
            return False
        got = [u for u in cursor.flying if u.id in ids]
        if not got:
            return False
        got.sort(key=TableUpdate.start)  # a chain: each starts where one before it ends
        for update in got:
            if cursor.acked < 0 or update.start() <= cursor.acked:
                cursor.acked = max(cursor.acked, update.version)
        cursor.flying = tuple(u for u in cursor.flying if u.version > cursor.acked)
        if cursor.flying:
            return True  # the rest of the push is still on its way
        self.in_flight.answer(str(addr), now)  # (a sample if sent once: Karn)
        self.resume([addr], now, out)  # (what changed since, if anything)
        return True

    def due(self, now: float, out: Out) -> None:
        """Pushes whose wait is over: sent again as the newest catch-up, or given up."""
        again, failed = self.in_flight.due(now)
        version = self._version()
        for cursor in failed:
            if cursor.acked < version and cursor.addr not in self.held:  # (else over anyway)
                cursor.round_trip.gave_up()
            cursor.flying = ()
        for cursor in again:
            if cursor.acked >= version or cursor.addr in self.held:  # sent the table, or held
                self.in_flight.answer(str(cursor.addr))
                cursor.flying = ()
                continue
            batch = self._catch_up(cursor.acked) or cursor.flying
            # the copies sent before are still acked late: each ack counts
            cursor.flying = tuple(u for u in cursor.flying if u not in batch) + batch
            self._out([cursor.addr], batch, out)

    def heard(self, addr: Addr, held: int, now: float, out: Out) -> None:
        """The peer at `addr` holds the table at `held` (-1: not said; older than acked: late,
        and nothing moves back): what changed since goes now, even with a push on its way."""
        version = self._version()
        if held < 0 or held > version or addr in self.handed_over:
            return
        cursor = self._cursors.get(addr) or self._watch(addr, held)
        if addr in self.held or held == version or held < cursor.acked:
            return
        cursor.acked = held
        self._catch_up_all({held: [addr]}, now, out)

    def told(self, addr: Addr, version: int) -> int:
        """The version to tell the peer at `addr` in Alive: the version it acked while a
        push is on its way to it (which carries the rest), or while it is held; else
        `version`."""
        cursor = self._cursors.get(addr)
        if cursor is not None and (cursor.flying or addr in self.held) and cursor.acked >= 0:
            return cursor.acked
        return version

    def flying(self, addr: Addr) -> tuple[TableUpdate, ...]:
        """The updates of every copy of the push in flight to the peer at `addr`."""
        cursor = self._cursors.get(addr)
        return () if cursor is None else cursor.flying

    def _watch(self, addr: Addr, acked: int) -> Cursor:
        cursor = self._cursors[addr] = Cursor(addr, acked, RoundTrip(self._floor))
        return cursor

    def _sent(self, cursor: Cursor, batch: tuple[TableUpdate, ...], now: float) -> None:
        """`batch` goes to `cursor`'s peer at `now`: a push, or, one in flight, a copy of it
        (in its round, no sample: Karn)."""
        if cursor.flying:
            self.in_flight.copied(str(cursor.addr), now)
        else:
            self.in_flight.start(str(cursor.addr), cursor, now, RTO_MAX)
        cursor.flying += batch

    def _out(self, addrs: list[Addr], batch: tuple[TableUpdate, ...], out: Out) -> None:
        for update in batch:
            out(send_to(addrs, update, self._key_at))

    def _catch_up_all(self, behind: dict[int, list[Addr]], now: float, out: Out) -> None:
        """The peers of `behind`, by the version each acked, pushed what changed since (past
        the log: taken as knowing nothing)."""
        for since, addrs in behind.items():
            batch = self._catch_up(since) or ()
            for addr in addrs:
                if batch:
                    self._sent(self._cursors[addr], batch, now)
                else:
                    self._cursors[addr].acked = -1
            self._out(addrs, batch, out)

    def _catch_up(self, since: int) -> tuple[TableUpdate, ...] | None:
        """The rows changed after `since`, merged into at most BATCH updates (or None)."""
        if since < 0:
            return None
        version = self._version()
        if self._caught_up_to != version:
            self._catch_ups, self._caught_up_to = {}, version
        if since not in self._catch_ups:
            log = self._log
            reaches = bool(log) and log[-1].version == version and log[0].version - 1 <= since
            updates = itertools.islice(log, since + 1 - log[0].version, None) if reaches else None
            self._catch_ups[since] = None if updates is None else self._merged(updates)
        return self._catch_ups[since]

    def _merged(self, updates: Iterable[TableUpdate]) -> tuple[TableUpdate, ...]:
        merged: list[TableUpdate] = []
        run: list[TableUpdate] = []
        used = 0
        for update in updates:
            size = sum(record_size(row) + 1 for row in update.entries)
            if run and used + size > ROWS_ROOM:
                merged.append(self._one(run))
                if len(merged) == BATCH:
                    return tuple(merged)
                run, used = [], 0
            run.append(update)
            used += size
        if run:
            merged.append(self._one(run))
        return tuple(merged)

    def _one(self, run: list[TableUpdate]) -> TableUpdate:
        if len(run) == 1:
            return run[0]
        rows: dict[str, Entry] = {}
        for update in run:
            for row in update.entries:
                key = name_key(row.name)
                rows.pop(key, None)  # to the end: its last change's place
                rows[key] = row
        return TableUpdate(self._new_id(), run[-1].version, tuple(rows.values()), run[0].start())
