"""What the parts of the registry core share, one of each per registry; and what a part
does for another, as the callable the other is given (RegistryCore wires them)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from datetime import datetime

from msgspec import Struct

from registry.core.actions import Emit
from registry.core.authority import Names
from registry.core.push_records import Push
from registry.core.pusher import Pusher
from registry.core.requests import Answers
from registry.core.table import Record, Table
from registry.core.table_changes import TableChanges
from registry.core.table_feed import TableFeed


def stamp(now: float) -> str:
    return _stamp(math.floor(now))


@functools.lru_cache(maxsize=4)
def _stamp(second: int) -> str:
    # once a second: a registry saving thousands of messages a second stamps them alike
    return datetime.fromtimestamp(second).strftime("%Y-%m-%d %H:%M:%S")


class Services(Struct):
    """The shared parts, one object each, read and changed by every part given them."""

    table: Table
    answers: Answers
    new_token: Callable[[], str]
    names: Names
    pusher: Pusher
    feed: TableFeed
    changes: TableChanges
    #: seconds from the core's monotonic `now` to the time of day, read at each stamp
    wall_offset: Callable[[], float] = float
    #: where peers reach the registries of this one's service (empty: on its own)
    registries: tuple[str, ...] = ()

    def stamp(self, now: float) -> str:
        return stamp(self.wall(now))

    def wall(self, now: float) -> float:
        """The time of day (seconds since the epoch) at monotonic `now`."""
        return now + self.wall_offset()

    @classmethod
    def make(
        cls,
        table: Table,
        new_id: Callable[[], str],
        new_token: Callable[[], str],
        timing: tuple[float, int],
    ) -> Services:
        answers = Answers(new_id)
        names = Names(table, answers)
        changes = TableChanges(table)
        pusher = Pusher(*timing, key_at=changes.key_at)
        feed = TableFeed(table, names, timing, answers, changes)
        return cls(
            table=table,
            answers=answers,
            new_token=new_token,
            names=names,
            pusher=pusher,
            feed=feed,
            changes=changes,
        )


#: Takes a record out of its room, the members told why (None: nothing), as
#: RoomRequests.leave_room does.
LeaveRoom = Callable[[Record, float, Emit, str | None], object]
#: What was pushed to a peer gone or started afresh is kept (Saving.restarted).
KeepPushed = Callable[[Record, float, Emit], None]
#: A push that ended unacked, for the news of a restart (RestartNews.unacked).
Unacked = Callable[[Push, float, Emit], None]
