"""What the parts of the registry core share, one of each per registry; and what a part
does for another, as the small interface the other is given (RegistryCore wires them)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from msgspec import Struct

from registry.core.actions import Addr, Emit
from registry.core.authority import Names
from registry.core.pushes import Flight, Pushes
from registry.core.requests import Answers, Origin, Request
from registry.core.table import Record, Table
from registry.core.table_feed import TableFeed
from registry.core.table_watch import TableWatch
from wire.messages import Register, StoredMessage


def stamp(now: float) -> str:
    return _stamp(math.floor(now))


@functools.lru_cache(maxsize=4)
def _stamp(second: int) -> str:
    # once a second: a registry saving thousands of messages a second stamps them alike
    return datetime.fromtimestamp(second).strftime("%Y-%m-%d %H:%M:%S")


class Services(Struct):
    table: Table
    answers: Answers
    new_token: Callable[[], str]
    names: Names
    pushes: Pushes
    feed: TableFeed
    watch: TableWatch
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
        feed = TableFeed(table, names, answers, timing)
        pushes = Pushes(*timing, key_at=feed.key_at)
        return cls(table, answers, new_token, names, pushes, feed, feed.watch)


class Mail(Protocol):
    """The mailboxes (registry/core/post_office.py)."""

    def store(  # noqa: PLR0913 (as PostOffice.store)
        self,
        owner: Record,
        message: StoredMessage,
        origin: Origin,
        now: float,
        emit: Emit,
        typed: int = 0,
        ticket: str = "",
    ) -> str: ...
    def origin(self, sender: str) -> Origin: ...
    def moved(self, old_key: str, record: Record, emit: Emit) -> None: ...
    def keep_owner(self, record: Record, emit: Emit) -> None: ...
    def part(self, owner: Record) -> tuple[StoredMessage, ...]: ...


class Probes(Protocol):
    """The probes of peers that may be gone (registry/core/liveness.py)."""

    def registered(self, now: float) -> None: ...
    def probing(self, record: Record) -> bool: ...
    def probe(
        self,
        record: Record,
        now: float,
        emit: Emit,
        waiting: tuple[Register, Request] | None = None,
        since: float | None = None,
    ) -> None: ...


#: Takes a record out of its room, the members told why (None: nothing), as
#: RoomRequests.leave_room does.
LeaveRoom = Callable[[Record, float, Emit, str | None], object]
#: What was pushed to a peer gone or started afresh is kept (Posts.restarted).
KeepPushed = Callable[[Record, float, Emit], None]
#: A push to an address that ended unacked, for the news of a restart (RestartNews.unacked).
Unacked = Callable[[Addr, Flight, float, Emit], None]


class Arrivals(Protocol):
    """A peer that comes online (registry/core/presence.py)."""

    def fresh_start(self, record: Record, now: float, emit: Emit) -> None: ...
    def take_over(self, where: Addr, record: Record, now: float, emit: Emit) -> None: ...
