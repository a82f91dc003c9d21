"""What the parts of the registry core share, one of each per registry."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from datetime import datetime

from msgspec import Struct

from registry.core.authority import Aliases, Authority
from registry.core.pusher import Pusher
from registry.core.pushes import Pushes
from registry.core.requests import Answers, DoneRequests
from registry.core.table import Table
from registry.core.table_changes import TableChanges
from registry.core.table_feed import TableFeed
from registry.core.table_watch import TableWatch


def stamp(now: float) -> str:
    """The local time `now` as shown next to stored messages."""
    return _stamp(math.floor(now))


@functools.lru_cache(maxsize=4)
def _stamp(second: int) -> str:
    # once a second: a registry saving thousands of messages a second stamps them alike
    return datetime.fromtimestamp(second).strftime("%Y-%m-%d %H:%M:%S")


class Services(Struct):
    """The shared parts; each is one object, read and changed by every part given it."""

    table: Table
    answers: Answers
    #: makes secret tokens (registration)
    new_token: Callable[[], str]
    aliases: Aliases
    authority: Authority
    pusher: Pusher
    #: the pusher's pushes in flight
    pushes: Pushes
    feed: TableFeed
    #: the feed's table pushes, one per peer
    watch: TableWatch
    changes: TableChanges
    #: room requests and renames done (their late copies are only acked)
    done: DoneRequests
    #: seconds from the core's monotonic `now` to the time of day, read at each stamp (the
    #: adapter's: a clock stepped, or a host asleep, moves it)
    wall_offset: Callable[[], float] = float
    #: where peers reach the registries of this one's service (empty: on its own)
    registries: tuple[str, ...] = ()

    def stamp(self, now: float) -> str:
        """The time of day at monotonic `now`, as shown next to what was said."""
        return stamp(self.wall(now))

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
        pusher = Pusher(*timing, key_at=changes.key_at)
        feed = TableFeed(table, aliases, timing, answers, changes)
        return cls(
            table=table,
            answers=answers,
            new_token=new_token,
            aliases=aliases,
            authority=Authority(aliases, answers),
            # each push sealed for the key online at its address when it is sent
            pusher=pusher,
            pushes=pusher.pushes,
            feed=feed,
            watch=feed.watch,
            changes=changes,
            done=DoneRequests(answers),
        )
