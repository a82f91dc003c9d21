"""What the registry tells of its table, as this peer takes it (docs/PROTOCOL.md), and the
news it carries about ourselves (a rename of ours done; our name released); our renames
(/nick), asked of the registry, done when it answers or when the table shows the new name
first. Sans-IO."""

from __future__ import annotations

import collections

from peer.core.actions import Emit, Print, Remember
from peer.core.registry_link import RegistryLink
from peer.core.shared import Shared, name_released, renames_asked
from peer.core.table import HELD_UPDATES
from wire.messages import (
    Alive,
    Keepalive,
    Message,
    Rename,
    TableRequest,
    TableSnapshot,
    TableUpdate,
    Welcome,
)
from wire.names import name_key, name_problem

NOW_KNOWN_AS = "[You are now known as {}.]"


class TableNews:
    """The table's changes as the registry sends them, and what they mean for us; our own
    renames (the names we had before are the PeerState's, `former`)."""

    def __init__(self, shared: Shared, link: RegistryLink) -> None:
        self._shared = shared
        self._link = link
        # the table's version when the registry last welcomed us: our row comes after it
        self._welcomed_at = -1
        # (old, new) name keys of the renames done by their answer whose table update has
        # not come yet (`_shows_answered`)
        self._to_show: collections.deque[tuple[str, str]] = collections.deque(maxlen=16)

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
                self._fetch_table(now, emit)
            return
        self._apply(update, now, emit)
        self.take_held(now, emit)

    def take_held(self, now: float, emit: Emit) -> None:
        for update in self._shared.table.take_held():
            self._apply(update, now, emit)

    def _apply(self, update: TableUpdate, now: float, emit: Emit) -> None:
        """Apply `update`, the next version, and say what it means for us."""
        shared = self._shared
        table = shared.table
        if table.holds(update):
            table.version = update.version
            return
        state = shared.state
        answered = self._shows_answered(update)
        renamed_to = table.apply(update, state.name)
        shared.change_lines.table_changed(now, emit)
        if answered:
            return  # news of a rename of ours already done: neither a later one nor a release
        if renamed_to:
            self.own_rename_seen(renamed_to, emit)
        elif (
            state.life.registered
            and name_key(state.name) in {name_key(e.name) for e in update.entries if not e.port}
            and not renames_asked(shared.requests)  # a rename's rows may come in two updates
        ):
            name_released(self._shared, emit)

    def snapshot(self, snapshot: TableSnapshot, now: float, emit: Emit) -> None:
        """The whole table as we asked for it (none older than ours): said as a change
        unless its rows are those held, with what it says of us (`_snapshot_news`)."""
        table = self._shared.table
        if snapshot.version < table.version:
            return
        self._to_show.clear()  # a whole table shows every rename before it
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
        on_their_way = {m.id for m in shared.requests.messages()}
        for rename in (r for r in renames_asked(shared.requests) if r.id not in on_their_way):
            entry = shared.table.entry(rename.new_name)
            if entry is not None and entry.port == state.port and entry.online:
                # a rename we gave up on, done by a registry killed before its answer left
                self.own_rename_seen(rename.new_name, emit)
                return
        for entry in snapshot.entries:
            if entry.port == state.port and name_key(entry.name) in state.former:
                # taken before our own rename: its update is still to come
                shared.table.renamed(entry.name, state.name)
                return
        asked = renames_asked(self._shared.requests)
        new = next((r.new_name for r in asked if r.new_name in shared.table), "")
        if new:
            self.own_rename_seen(new, emit)
        elif not asked:
            name_released(self._shared, emit)

    def welcome_table(self, welcome: Welcome, now: float, emit: Emit) -> None:
        """The whole table of a Welcome, said at once. A Welcome of no rows carries no table
        (too big for a datagram): it is asked for, and the updates meanwhile held for it."""
        self._welcomed_at = welcome.version
        if not welcome.entries:
            self._fetch_table(now, emit)
            return
        self._to_show.clear()  # a whole table shows every rename before it
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
            self._fetch_table(now, emit)

    def _fetch_table(self, now: float, emit: Emit) -> None:
        shared = self._shared
        if not shared.requests.any_of(TableRequest, streamed=True):
            self._link.request(TableRequest(shared.new_id()), now, emit, quiet=True)

    def rename(self, new: str, now: float, emit: Emit) -> None:
        """The user typed /nick `new`: asked of the registry, unless it cannot be."""
        problem = name_problem(new)
        if problem:
            emit(Print(f"[Cannot rename to {new!r}: {problem}.]", "error"))
            return
        state = self._shared.state
        if new == state.name:
            emit(Print(f"[You are already called {new}.]", "error"))
            return
        if self._link.sent(Rename):
            emit(Print("[A rename is already on its way; wait for its answer.]", "error"))
            return
        rename = Rename(self._shared.new_id(), state.name, state.token, new)
        self._link.request(rename, now, emit)

    def rename_answered(self, rename: Rename, reply: Message, now: float, emit: Emit) -> None:
        """The registry did `rename` (a refusal is RequestEnds'); its update is still to come."""
        if self._renamed_to(rename, emit):
            self._to_show.append((name_key(rename.name), name_key(rename.new_name)))

    def _renamed_to(self, rename: Rename, emit: Emit) -> bool:
        """The registry did `rename`: we go by its new name. False when we do already."""
        state = self._shared.state
        old = state.name
        if rename.name != old:
            return False
        state.name = rename.new_name
        self._shared.table.renamed(old, rename.new_name)
        state.former.add(name_key(old))
        state.former.discard(name_key(rename.new_name))
        emit(Remember(rename.new_name, state.token))
        emit(Print(NOW_KNOWN_AS.format(rename.new_name), "system"))
        return True

    def own_rename_seen(self, new_name: str, emit: Emit) -> None:
        """The table says our name became `new_name`: a rename we asked for was done, though
        its answer has not come or we gave up on it; taken as done."""
        requests = self._shared.requests
        for rename in renames_asked(requests):
            if name_key(rename.new_name) == name_key(new_name):
                requests.answer_came(rename.id)
                requests.take_given_up(rename.id)
                self._renamed_to(rename, emit)
                return

    def _shows_answered(self, update: TableUpdate) -> bool:
        """Whether `update` is the table's news of a rename of ours done by its answer (so no
        news of a later one); those answered before it came in a whole table, forgotten."""
        if not (to_show := self._to_show):
            return False
        port = self._shared.state.port
        gone = {name_key(e.name) for e in update.entries if not e.port}
        came = {name_key(e.name) for e in update.entries if e.port == port and e.online}
        for shown, (old, new) in enumerate(to_show, start=1):
            if old in gone and new in came:
                for _ in range(shown):
                    to_show.popleft()
                return True
        return False
