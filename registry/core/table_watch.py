"""The table's pushes to each online peer, a watch with acknowledged revisions (as etcd's):
a peer is pushed every row changed since the version it acked, one push in flight, resent
on its round trip's timeout as the newest state, given up after ATTEMPTS copies. A peer
behind is pushed what it missed from the log of the last updates, or, past the log, told
the newest version (it takes the whole table)."""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Container, Iterable, Sequence

from msgspec import Struct

from registry.core.actions import Addr
from wire.codec import encode, record_size
from wire.limits import MAX_DATAGRAM, MAX_ID
from wire.messages import Entry, TableUpdate
from wire.names import name_key
from wire.reliable import ATTEMPTS, TIMEOUT, RoundTrip

#: Room in a datagram for a TableUpdate's rows, around the longest message.
ROWS_ROOM = MAX_DATAGRAM - len(encode(TableUpdate("x" * MAX_ID, 2**63 - 1, (), 2**63 - 1)))
#: Updates kept for a peer that missed some (about 30 rows each).
LOG_UPDATES = 512

#: Datagrams in one push at most: the rest go after its ack.
BATCH = 16

#: A cursor's `acked` while its peer fetches the whole table (`TableWatch.welcomed`).
FETCHING = -2

#: Updates to send in order, each with the addresses it goes to (one at least).
Sends = list[tuple[list[Addr], TableUpdate]]


class Cursor(Struct):
    """One online peer: the version it acked (-1: not known; or FETCHING), and the push in
    flight to it (every copy's updates, `copies` sent; 0: none)."""

    acked: int
    round_trip: RoundTrip
    flying: tuple[TableUpdate, ...] = ()
    copies: int = 0
    sent_at: float = 0.0
    wait: float = 0.0
    deadline: float = 0.0


class TableWatch:
    def __init__(
        self, new_id: Callable[[], str], timeout: float = TIMEOUT, attempts: int = ATTEMPTS
    ) -> None:
        # the last updates pushed, in version order with no gap
        self._log: deque[TableUpdate] = deque(maxlen=LOG_UPDATES)
        self._new_id, self._floor, self._attempts = new_id, timeout, attempts
        self._cursors: dict[Addr, Cursor] = {}
        # the address each welcomed peer's public key (wire.keys.key_text) was welcomed at
        self._addr_of_key: dict[str, Addr] = {}
        # (deadline, order, address): a cursor's entry is live while its deadline is this
        self._timers: list[tuple[float, int, Addr]] = []
        self._order = itertools.count()
        # catch-ups by the version they start from, all up to `_caught_up_to`
        self._catch_ups: dict[int, tuple[TableUpdate, ...] | None] = {}
        self._caught_up_to = -1
        #: the addresses another registry of the service delivers the table to
        self.handed_over: Container[Addr] = frozenset()
        #: the addresses pushed nothing until released (`resume`), whatever their cursor
        self.held: Container[Addr] = frozenset()

    def welcomed(self, addr: Addr, key: str, version: int, *, fetching: bool = False) -> None:
        """The peer at `addr`, of key `key`, was welcomed at `version`; or, `fetching`, it
        asks for the whole table next, and is pushed nothing until `answered`."""
        if addr in self.handed_over:
            return
        self._cursors[addr] = Cursor(FETCHING if fetching else version, RoundTrip(self._floor))
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
        """The peer at `addr`, of key `key`, is gone."""
        self._cursors.pop(addr, None)
        if self._addr_of_key.get(key) == addr:
            del self._addr_of_key[key]

    def keep_only(self, addrs: Container[Addr]) -> None:
        """Forget every peer not at one of `addrs`."""
        if gone := {addr for addr in self._cursors if addr not in addrs}:
            for addr in gone:
                del self._cursors[addr]
            keys = self._addr_of_key
            self._addr_of_key = {key: addr for key, addr in keys.items() if addr not in gone}

    def held_at(self, addrs: Iterable[Addr], version: int) -> None:
        """The peers at `addrs`, held, hold the table at `version` unless theirs is known."""
        cursors, there = self._cursors, self.handed_over
        for addr in addrs:
            if addr in there:
                continue
            cursor = cursors.get(addr)
            if cursor is None:
                cursors[addr] = Cursor(version, RoundTrip(self._floor))
            elif cursor.acked == -1:
                cursor.acked = version

    def resume(self, addrs: Iterable[Addr], version: int, now: float) -> Sends:
        """The peers at `addrs` are held no more: each is pushed what changed since."""
        behind: dict[int, list[Addr]] = {}
        for addr in addrs:
            cursor = self._cursors.get(addr)
            if cursor is None or addr in self.held:
                continue
            if not cursor.copies and 0 <= cursor.acked < version:
                behind.setdefault(cursor.acked, []).append(addr)
        return self._catch_up_all(behind, version, now)

    def push(self, updates: Sequence[TableUpdate], addrs: Iterable[Addr], now: float) -> Sends:
        """`updates`, the table's newest versions, for the peers at `addrs`: what to send
        now (nothing to a peer with a push in flight, or held)."""
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
                if addr in cursors:  # (it moved there: its cursor is that registry's now)
                    del cursors[addr]
                continue
            cursor = cursors.get(addr)
            if cursor is None:
                cursor = cursors[addr] = Cursor(-1, RoundTrip(self._floor))
            if cursor.copies or addr in held or cursor.acked == FETCHING:
                continue
            if cursor.acked < 0 or cursor.acked == first:
                fresh.append(addr)
            elif cursor.acked < version:
                behind.setdefault(cursor.acked, []).append(addr)
        batch = tuple(updates)
        for addr in fresh:
            self._send(cursors[addr], addr, batch, now)
        fresh += elsewhere  # (sent alike; tracked by the registry they came through)
        sends: Sends = [(fresh, update) for update in batch] if fresh else []
        return sends + self._catch_up_all(behind, version, now)

    def acked(self, ids: Sequence[str], addr: Addr, version: int, now: float) -> tuple[bool, Sends]:
        """The peer at `addr` acked `ids`: whether any were its pushes, and what next."""
        cursor = self._cursors.get(addr)
        if cursor is None or not cursor.copies:
            return False, []
        got = [u for u in cursor.flying if u.id in ids]
        if not got:
            return False, []
        got.sort(key=TableUpdate.start)  # a chain: each starts where one before it ends
        for update in got:
            if cursor.acked < 0 or update.start() <= cursor.acked:
                cursor.acked = max(cursor.acked, update.version)
        cursor.flying = tuple(u for u in cursor.flying if u.version > cursor.acked)
        if cursor.flying:
            return True, []  # the rest of the push is still on its way
        if cursor.copies == 1:
            cursor.round_trip.sample(now - cursor.sent_at)
        else:
            cursor.round_trip.backed_off(cursor.wait)  # late, not lost (Karn: no sample)
        cursor.copies = 0
        if 0 <= cursor.acked < version and addr not in self.held:
            return True, self._catch_up_all({cursor.acked: [addr]}, version, now)
        return True, []

    def due(self, version: int, now: float) -> Sends:
        """Pushes whose wait is over: sent again as the newest catch-up, or given up."""
        sends: Sends = []
        timers, cursors = self._timers, self._cursors
        while timers and timers[0][0] <= now:
            deadline, _, addr = heapq.heappop(timers)
            cursor = cursors.get(addr)
            if cursor is None or not cursor.copies or cursor.deadline != deadline:
                continue
            if cursor.acked >= version or addr in self.held:  # sent the table meanwhile, or held
                cursor.copies, cursor.flying = 0, ()
                continue
            if cursor.copies >= self._attempts:
                cursor.copies, cursor.flying = 0, ()
                cursor.round_trip.gave_up()
                continue
            batch = self._catch_up(cursor.acked, version) or cursor.flying
            copies, wait = cursor.copies + 1, cursor.round_trip.backed_off(cursor.wait)
            earlier = tuple(u for u in cursor.flying if u not in batch)
            self._send(cursor, addr, batch, now, wait)
            # the copies sent before are still acked late: each ack counts
            cursor.copies, cursor.flying = copies, earlier + batch
            sends += [([addr], update) for update in batch]
        return sends

    def next_wake(self) -> float | None:
        timers, cursors = self._timers, self._cursors
        while timers:
            deadline, _, addr = timers[0]
            cursor = cursors.get(addr)
            if cursor is not None and cursor.copies and cursor.deadline == deadline:
                return deadline
            heapq.heappop(timers)
        return None

    def heard(self, addr: Addr, held: int, version: int, now: float) -> Sends:
        """The peer at `addr` holds the table at `held` (-1: not said; older than acked: late,
        and nothing moves back): what changed since goes now, even with a push on its way."""
        if held < 0 or held > version or addr in self.handed_over:
            return []
        cursor = self._cursors.get(addr)
        if cursor is None:
            cursor = self._cursors[addr] = Cursor(held, RoundTrip(self._floor))
        copies, earlier = cursor.copies, cursor.flying
        if addr in self.held or held == version or held < cursor.acked:
            return []
        cursor.acked = held
        sends = self._catch_up_all({held: [addr]}, version, now)
        if sends and copies:  # (Karn: a copy sent again gives no sample)
            cursor.copies, cursor.flying = copies + 1, earlier + cursor.flying
        return sends

    def told(self, addr: Addr, version: int) -> int:
        """The version to tell the peer at `addr` in Alive: the version it acked while a
        push is on its way to it (which carries the rest), or while it is held; else
        `version`."""
        cursor = self._cursors.get(addr)
        if cursor is not None and (cursor.copies or addr in self.held) and cursor.acked >= 0:
            return cursor.acked
        return version

    def flying(self, addr: Addr) -> tuple[TableUpdate, ...]:
        """The updates of every copy of the push in flight to the peer at `addr`."""
        cursor = self._cursors.get(addr)
        return () if cursor is None else cursor.flying

    def in_flight(self) -> int:
        return sum(1 for cursor in self._cursors.values() if cursor.copies)

    def _send(
        self,
        cursor: Cursor,
        addr: Addr,
        batch: tuple[TableUpdate, ...],
        now: float,
        wait: float | None = None,
    ) -> None:
        cursor.flying, cursor.copies, cursor.sent_at = batch, 1, now
        cursor.wait = cursor.round_trip.rto if wait is None else wait
        cursor.deadline = now + cursor.wait
        heapq.heappush(self._timers, (cursor.deadline, next(self._order), addr))

    def _catch_up_all(self, behind: dict[int, list[Addr]], version: int, now: float) -> Sends:
        """The peers of `behind`, by the version each acked, pushed what changed since (past
        the log: taken as knowing nothing)."""
        sends: Sends = []
        for since, addrs in behind.items():
            batch = self._catch_up(since, version)
            for addr in addrs:
                if batch:
                    self._send(self._cursors[addr], addr, batch, now)
                else:
                    self._cursors[addr].acked = -1
            sends += [(addrs, update) for update in batch or ()]
        return sends

    def _catch_up(self, since: int, version: int) -> tuple[TableUpdate, ...] | None:
        """The rows changed after `since`, merged into at most BATCH updates (or None)."""
        if since < 0:
            return None
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
