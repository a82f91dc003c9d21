"""Renames of this peer (/nick): asked of the registry, done when it answers, or when the
table shows the new name first. Sans-IO: Print and Remember actions.
"""

from __future__ import annotations

import collections

from peer.core.actions import Emit, Print, Remember
from peer.core.registry_link import RegistryLink
from peer.core.requests import Requests
from peer.core.shared import Shared
from wire.messages import Message, Rename, TableUpdate
from wire.names import name_key, name_problem

NOW_KNOWN_AS = "[You are now known as {}.]"


class Renames:
    """Our own renames: the names we had before are the PeerState's (`former`)."""

    def __init__(self, shared: Shared, link: RegistryLink) -> None:
        self._shared = shared
        self._link = link
        # (old, new) name keys of the renames done by their answer whose table update has
        # not come yet (`shows_answered`)
        self._to_show: collections.deque[tuple[str, str]] = collections.deque(maxlen=16)

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

    def answered(self, rename: Rename, reply: Message, now: float, emit: Emit) -> None:
        """The registry did `rename` (a refusal is RequestEnds'); its update is still to come."""
        if self.renamed_to(rename, emit):
            self._to_show.append((name_key(rename.name), name_key(rename.new_name)))

    def renamed_to(self, rename: Rename, emit: Emit) -> bool:
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
        for rename in renames_asked(self._shared.requests):
            if name_key(rename.new_name) == name_key(new_name):
                requests.answer(rename.id)
                requests.outcomes.take_given_up(rename.id)
                self.renamed_to(rename, emit)
                return

    def shows_answered(self, update: TableUpdate) -> bool:
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

    def whole_table_seen(self) -> None:
        """A whole table came: it shows every rename before it."""
        self._to_show.clear()


def renames_asked(requests: Requests) -> list[Rename]:
    """Renames we asked for that are on their way, or were given up on lately."""
    return [m for m in requests.messages(given_up=True) if isinstance(m, Rename)]


def renames_given_up(requests: Requests) -> list[Rename]:
    """Renames we gave up on lately (the registry may have done them)."""
    on_their_way = {m.id for m in requests.messages()}
    return [m for m in renames_asked(requests) if m.id not in on_their_way]
