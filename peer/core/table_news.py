"""What the registry tells of its table, as this peer takes it: one whole table per
registration (a Welcome too big for it is followed by one request for it), then updates in
order, a gap asking for what changed since our version (TableRequest's `since`); and the
news they carry about ourselves (a rename of ours done; our name released by the registry's
console). Sans-IO: Print actions; the table itself is peer.core.table's.
"""

from __future__ import annotations

from peer.core.actions import Emit, Print
from peer.core.lifecycle import Event
from peer.core.registry_link import RegistryLink
from peer.core.renames import Renames, renames_asked, renames_given_up
from peer.core.shared import Shared
from peer.core.table import HELD_UPDATES, Table
from wire.keys import fingerprint, key_from_text
from wire.messages import (
    Alias,
    Alive,
    Entry,
    Keepalive,
    Message,
    TableRequest,
    TableSnapshot,
    TableUpdate,
    Welcome,
)
from wire.names import name_key
from wire.reliable import ATTEMPTS, TIMEOUT

#: Seconds a gap in the table's versions is waited out before what is missing is fetched,
#: at the least: the registry sends what we have not acked again (registry/core/table_watch.py),
#: so a lost update nearly always comes within it; fetched at once, it would come twice.
GAP_WAIT = TIMEOUT * ATTEMPTS


class TableNews:
    """The table's changes as the registry sends them, and what they mean for us."""

    def __init__(self, shared: Shared, link: RegistryLink, renames: Renames) -> None:
        self._shared = shared
        self._link = link
        self._renames = renames
        #: Our key's fingerprint, for /whois (PeerCore's option: the adapter knows the key).
        self.fingerprint = ""
        #: When a gap in the versions will have been waited out (`tick`); None: no gap is
        #: (updates held before our Welcome wait for the table it brings).
        self.gap_over_at: float | None = None
        # the table's version when the registry last welcomed us: our row comes after it
        self._welcomed_at = -1
        # the newest version the registry said it is at (Alive): pushes bring it, or a fetch
        self._said_at = -1

    def update(self, update: TableUpdate, now: float, emit: Emit) -> None:
        """A change of the table: applied when it starts at our version or before, with those
        held that follow it. After a gap, held: what changed since our version is asked for
        when the gap is over HELD_UPDATES versions, or too many are held, or it has stood
        `gap_wait` seconds (`tick`)."""
        table = self._shared.table
        if update.version <= table.version:
            return
        if update.start() > table.version:
            if self.gap_over_at is None:
                self.gap_over_at = now + self.gap_wait()
                self._shared.alarm.lower(self.gap_over_at)
            table.hold(update)
            if update.version - table.version > HELD_UPDATES or table.held >= HELD_UPDATES:
                fetch_table(self._shared, self._link, now, emit)
            return
        self._apply(update, now, emit)
        self.take_held(now, emit)

    def tick(self, now: float, emit: Emit) -> None:
        """A gap waited out at `now`: what changed since our version is asked for (again
        each `gap_wait` while the gap stays)."""
        if self.gap_over_at is not None and now >= self.gap_over_at:
            if not self._behind():
                self.gap_over_at = None
                return
            self.gap_over_at = now + self.gap_wait()
            fetch_table(self._shared, self._link, now, emit)

    def take_held(self, now: float, emit: Emit) -> None:
        """Apply the held updates that now follow the table's version; what is still
        missing is waited out from `now`."""
        table = self._shared.table
        while (update := table.take_next()) is not None:
            self._apply(update, now, emit)
        self.gap_over_at = now + self.gap_wait() if self._behind() else None
        self._shared.alarm.lower(self.gap_over_at)

    def gap_wait(self) -> float:
        """Seconds what is missing is waited for before it is fetched: GAP_WAIT and the
        registry's round trip as measured (its updates come as late as its answers)."""
        return GAP_WAIT + (self._shared.requests.round_trip.srtt or 0.0)

    def _behind(self) -> bool:
        """Whether updates are missing: some are held after a gap, or the registry said
        it is at a version the table has not reached."""
        table = self._shared.table
        return bool(table.held) or table.version < self._said_at

    def _apply(self, update: TableUpdate, now: float, emit: Emit) -> None:
        """Apply `update`, the next version, and say what it means for us (nothing when it
        changes no row)."""
        shared = self._shared
        table = shared.table
        if table.holds(update):
            table.version = update.version
            return
        state = shared.state
        answered = self._renames.shows_answered(update)
        renamed_to = table.apply(update, state.name)
        shared.change_lines.table_changed(now, emit)
        if answered:
            return  # news of a rename of ours already done: neither a later one nor a release
        if renamed_to:
            self._renames.own_rename_seen(renamed_to, emit)
        elif (
            state.life.registered
            and name_key(state.name) in {name_key(e.name) for e in update.entries if not e.port}
            and not renames_asked(shared.requests)  # a rename's rows may come in two updates
        ):
            self.released(emit)

    def snapshot(self, snapshot: TableSnapshot, now: float, emit: Emit) -> None:
        """The table as we asked for it: the rows changed since a version (`since`), taken as
        an update when our table is at that version or later, but not past its own; or a
        whole table, with what it says of us (`_snapshot_news`)."""
        shared = self._shared
        if snapshot.since >= 0:
            if snapshot.since <= shared.table.version < snapshot.version:
                changes = TableUpdate(snapshot.id, snapshot.version, snapshot.entries)
                self._apply(changes, now, emit)  # (every row as it is at its version)
                self.take_held(now, emit)
            return
        if snapshot.version < shared.table.version:
            return
        self.replace(snapshot.version, snapshot.entries, snapshot.aliases, now, emit)
        self._snapshot_news(snapshot, emit)
        self.take_held(now, emit)

    def _snapshot_news(self, snapshot: TableSnapshot, emit: Emit) -> None:
        """Our name missing from a whole table is the news the missed updates carried: a
        rename of ours, when the new name is in it, else a release; unless it has our row
        under a name we gave up by a rename (it was taken before)."""
        shared = self._shared
        state = shared.state
        if not state.life.registered or state.name in shared.table:
            return
        if snapshot.version <= self._welcomed_at:
            return  # from before our row's push: it says nothing of us
        done = self._given_up_rename_in(shared.table)
        if done:
            # a rename we gave up on, done by a registry killed before its answer left
            self._renames.own_rename_seen(done, emit)
            return
        before = next(
            (
                e.name
                for e in snapshot.entries
                if e.port == state.port and name_key(e.name) in state.former
            ),
            "",
        )
        if before:
            # taken before our own rename: its update is still to come
            shared.table.renamed(before, state.name)
            return
        asked = renames_asked(self._shared.requests)
        new = next((r.new_name for r in asked if r.new_name in shared.table), "")
        if new:
            self._renames.own_rename_seen(new, emit)
        elif not asked:
            self.released(emit)

    def _given_up_rename_in(self, table: Table) -> str:
        """The new name of a rename we gave up on that `table` shows at our address, or ""."""
        port = self._shared.state.port
        for rename in renames_given_up(self._shared.requests):
            entry = table.entry(rename.new_name)
            if entry is not None and entry.port == port and entry.online:
                return rename.new_name
        return ""

    def replace(
        self,
        version: int,
        entries: tuple[Entry, ...],
        aliases: tuple[Alias, ...],
        now: float,
        emit: Emit,
    ) -> None:
        """The whole table, at `version`: said as a change, unless its rows are those held."""
        table = self._shared.table
        unchanged = table.same_rows(entries)
        self._renames.whole_table_seen()
        table.replace(version, entries, aliases)
        if not unchanged:
            self._shared.change_lines.table_changed(now, emit)

    def welcome_table(self, welcome: Welcome, now: float, emit: Emit) -> None:
        """The whole table of a Welcome, said at once. A Welcome of no rows carries no table
        (too big for a datagram): it is asked for, and the updates meanwhile held for it."""
        self._welcomed_at = welcome.version
        if not welcome.entries:
            fetch_table(self._shared, self._link, now, emit, whole=True)
            return
        self._renames.whole_table_seen()
        self._shared.table.replace(welcome.version, welcome.entries, welcome.aliases)
        self._shared.change_lines.table_replaced(emit)
        self.take_held(now, emit)

    def alive(self, keepalive: Keepalive, reply: Message, now: float, emit: Emit) -> None:
        """The answer to a keepalive: a table newer than ours is waited for as a gap is (its
        updates may be on their way), then fetched."""
        shared = self._shared
        if not isinstance(reply, Alive):
            return
        shared.learn_registries(reply.registries)
        if reply.version > shared.table.version:
            self._said_at = max(self._said_at, reply.version)
            if self.gap_over_at is None:
                self.gap_over_at = now + self.gap_wait()
                shared.alarm.lower(self.gap_over_at)

    def released(self, emit: Emit) -> None:
        """The registry's console released our name: said, and offline (the next keepalive
        must not take it back unseen)."""
        shared = self._shared
        state = shared.state
        state.life.fire(Event.RELEASED)
        shared.watch.offline()
        name = state.name
        line = (
            f"[The registry released the name {name}: you are offline. "
            f"Type reg {name} to register it again.]"
        )
        emit(Print(line, "error"))  # first the cause, then what follows
        if state.room:
            emit(Print(f"[You are no longer in {state.room}.]", "system"))
            state.room = ""

    def whois(self, name: str) -> Print:
        """The /whois line: `name`'s key fingerprint from the table, and ours."""
        entry = self._shared.table.entry(name)
        if entry is None:
            return self._shared.no_user(name)
        key = key_from_text(entry.key)
        if key is None:
            line = f"[{entry.name} has no key yet (not started since the registry took keys).]"
            return Print(line, "system")
        yours = f"yours: {self.fingerprint}" if self.fingerprint else ""
        line = f"[{entry.name}'s key: {fingerprint(key)}; {yours}. Read them aloud to compare.]"
        return Print(line, "system")


def fetch_table(
    shared: Shared, link: RegistryLink, now: float, emit: Emit, *, whole: bool = False
) -> None:
    """Ask for what changed since our table's version, or for the whole table (`whole`),
    unless asked already."""
    if not shared.requests.any_of(TableRequest, streamed=True):
        since = -1 if whole else shared.table.version
        link.request(TableRequest(shared.new_id(), since), now, emit, quiet=True)
