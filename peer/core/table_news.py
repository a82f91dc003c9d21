"""What the registry tells of its table, as this peer takes it (docs/PROTOCOL.md), and the
news it carries about ourselves (a rename of ours done; our name released). Sans-IO."""

from __future__ import annotations

from peer.core.actions import Emit, Print
from peer.core.lifecycle import Event
from peer.core.registry_link import RegistryLink
from peer.core.renames import Renames, renames_asked, renames_given_up
from peer.core.shared import Shared
from peer.core.table import HELD_UPDATES, Table
from wire.keys import fingerprint, key_from_text
from wire.messages import (
    Alive,
    Keepalive,
    Message,
    TableRequest,
    TableSnapshot,
    TableUpdate,
    Welcome,
)
from wire.names import name_key


class TableNews:
    """The table's changes as the registry sends them, and what they mean for us."""

    def __init__(self, shared: Shared, link: RegistryLink, renames: Renames) -> None:
        self._shared = shared
        self._link = link
        self._renames = renames
        #: Our key's fingerprint, for /whois (PeerCore's option: the adapter knows the key).
        self.fingerprint = ""
        # the table's version when the registry last welcomed us: our row comes after it
        self._welcomed_at = -1

    @property
    def before_welcome(self) -> bool:
        """Whether the table held is older than our last Welcome's (whose rows are asked for,
        when it came without them)."""
        return self._shared.table.version < self._welcomed_at

    def update(self, update: TableUpdate, now: float, emit: Emit) -> None:
        """A change of the table: applied with those held that follow it, or held after a
        gap; the whole table is asked for past HELD_UPDATES versions or held."""
        table = self._shared.table
        if update.version <= table.version:
            return
        if update.start() > table.version:
            held = table.hold(update)
            if update.version - table.version > HELD_UPDATES or held >= HELD_UPDATES:
                fetch_table(self._shared, self._link, now, emit)
            return
        self._apply(update, now, emit)
        self.take_held(now, emit)

    def take_held(self, now: float, emit: Emit) -> None:
        """Apply the held updates that now follow the table's version."""
        for update in self._shared.table.take_held():
            self._apply(update, now, emit)

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
        """The whole table as we asked for it (none older than ours): said as a change
        unless its rows are those held, with what it says of us (`_snapshot_news`)."""
        table = self._shared.table
        if snapshot.version < table.version:
            return
        self._renames.whole_table_seen()
        if table.replace(snapshot.version, snapshot.entries, snapshot.aliases):
            self._shared.change_lines.table_changed(now, emit)
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

    def welcome_table(self, welcome: Welcome, now: float, emit: Emit) -> None:
        """The whole table of a Welcome, said at once. A Welcome of no rows carries no table
        (too big for a datagram): it is asked for, and the updates meanwhile held for it."""
        self._welcomed_at = welcome.version
        if not welcome.entries:
            fetch_table(self._shared, self._link, now, emit)
            return
        self._renames.whole_table_seen()
        self._shared.table.replace(welcome.version, welcome.entries, welcome.aliases)
        self._shared.change_lines.table_replaced(emit)
        self.take_held(now, emit)

    def alive(self, keepalive: Keepalive, reply: Message, now: float, emit: Emit) -> None:
        """The answer to a keepalive: told a version past ours, we are further behind than
        the registry can push, and take the whole table."""
        shared = self._shared
        if not isinstance(reply, Alive):
            return
        shared.learn_registries(reply.registries, emit)
        if reply.version > shared.table.version:
            fetch_table(shared, self._link, now, emit)

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
        if (entry := self._shared.table.entry(name)) is None:
            return self._shared.no_user(name)
        key = key_from_text(entry.key)
        if key is None:
            line = f"[{entry.name} has no key yet (not started since the registry took keys).]"
            return Print(line, "system")
        yours = f"yours: {self.fingerprint}" if self.fingerprint else ""
        line = f"[{entry.name}'s key: {fingerprint(key)}; {yours}. Read them aloud to compare.]"
        return Print(line, "system")


def fetch_table(shared: Shared, link: RegistryLink, now: float, emit: Emit) -> None:
    """Ask for the whole table, unless asked already."""
    if not shared.requests.any_of(TableRequest, streamed=True):
        link.request(TableRequest(shared.new_id()), now, emit, quiet=True)
