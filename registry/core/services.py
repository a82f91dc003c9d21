"""What the parts of the registry core share: the table, the registry's ids and tokens,
the aliases of renamed names, the checks of who may act for a name, the pushes and the
table's changes. One of each per registry, made together by `Services.make`.
"""

from __future__ import annotations

from collections.abc import Callable

from msgspec import Struct

from registry.core.aliases import Aliases
from registry.core.authority import Authority
from registry.core.pusher import Pusher
from registry.core.requests import Answers, DoneRequests
from registry.core.table import Table
from registry.core.table_changes import TableChanges
from registry.core.table_feed import TableFeed


class WallClock(Struct):
    """Seconds from the core's `now` (monotonic) to the time of day: the adapter sets
    `offset` with every event, as the wall clock may be stepped meanwhile (NTP). For the
    stamps of what is kept and shown to people, and read back after a restart, when `now`
    starts again. 0 for a caller whose `now` is the time of day."""

    offset: float = 0.0

    def wall(self, now: float) -> float:
        """The time of day (seconds since the epoch) at monotonic `now`."""
        return now + self.offset


class Membership(Struct):
    """Where peers reach the registries of the service this one is part of ("ip:port"
    each): the adapter sets `registries` (empty for a registry on its own)."""

    registries: tuple[str, ...] = ()


class Services(Struct, frozen=True):
    """The shared parts; each is one object, read and changed by every part given it."""

    table: Table
    answers: Answers
    #: makes secret tokens (registration)
    new_token: Callable[[], str]
    aliases: Aliases
    authority: Authority
    pusher: Pusher
    feed: TableFeed
    #: room requests and renames done (their late copies are only acked)
    done: DoneRequests
    #: the time of day, for stamps
    clock: WallClock
    #: the service's registries, told to peers in Welcome and Alive
    membership: Membership

    @classmethod
    def make(
        cls,
        table: Table,
        new_id: Callable[[], str],
        new_token: Callable[[], str],
        timing: tuple[float, int],
    ) -> Services:
        """The shared parts over `table`, answering with ids of `new_id`; pushes retried
        every `timing[0]` seconds, `timing[1]` times (registry/core/pusher.py)."""
        answers = Answers(new_id)
        aliases = Aliases(table)
        changes = TableChanges(table)
        # each push sealed for the key online at its address when it is sent
        pusher = Pusher(*timing, key_at=changes.key_at)
        feed = TableFeed(table, aliases, timing, answers, changes)
        return cls(
            table=table,
            answers=answers,
            new_token=new_token,
            aliases=aliases,
            authority=Authority(table, aliases, answers),
            pusher=pusher,
            feed=feed,
            done=DoneRequests(answers),
            clock=WallClock(),
            membership=Membership(),
        )
