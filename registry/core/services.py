"""What the parts of the registry core share, one of each per registry."""

from __future__ import annotations

from collections.abc import Callable

from msgspec import Struct

from registry.core.authority import Aliases, Authority
from registry.core.pusher import Pusher
from registry.core.requests import Answers, DoneRequests
from registry.core.table import Table
from registry.core.table_changes import TableChanges
from registry.core.table_feed import TableFeed


class Services(Struct):
    """The shared parts; each is one object, read and changed by every part given it."""

    table: Table
    answers: Answers
    #: makes secret tokens (registration)
    new_token: Callable[[], str]
    aliases: Aliases
    authority: Authority
    pusher: Pusher
    feed: TableFeed
    changes: TableChanges
    #: room requests and renames done (their late copies are only acked)
    done: DoneRequests
    #: seconds from the core's monotonic `now` to the time of day, read at each stamp (the
    #: adapter's: a clock stepped, or a host asleep, moves it)
    wall_offset: Callable[[], float] = float
    #: where peers reach the registries of this one's service (empty: on its own)
    registries: tuple[str, ...] = ()

    def wall(self, now: float) -> float:
        """The time of day (seconds since the epoch) at monotonic `now`, for stamps."""
        return now + self.wall_offset()

    @classmethod
    def make(
        cls,
        table: Table,
        new_id: Callable[[], str],
        new_token: Callable[[], str],
        timing: tuple[float, int],
    ) -> Services:
        """The shared parts over `table`, with ids of `new_id` and push `timing`."""
        answers = Answers(new_id)
        aliases = Aliases(table)
        changes = TableChanges(table)
        return cls(
            table=table,
            answers=answers,
            new_token=new_token,
            aliases=aliases,
            authority=Authority(aliases, answers),
            # each push sealed for the key online at its address when it is sent
            pusher=Pusher(*timing, key_at=changes.key_at),
            feed=TableFeed(table, aliases, timing, answers, changes),
            changes=changes,
            done=DoneRequests(answers),
        )
