"""The heartbeat of one desk connection, shared by the registry and both desk clients.

Pure: no clock, no sockets (like `wire.reliable`). Either end of a desk connection keeps one
`Heartbeat` per connection, tells it whenever anything arrives (`heard`), and asks `check`
at the time `due()` gives: after `period` seconds without a word the other end is to be
asked for a sign of life (`DeskPing`); after twice as long it is taken as lost. A process
stopped with SIGSTOP, or a machine gone from the network without a word, keeps its TCP
connection open, and nothing else would notice (see `wire.desk.messages.HEARTBEAT`).
"""

from __future__ import annotations

from enum import Enum

from wire.desk.messages import HEARTBEAT


class Beat(Enum):
    """What `Heartbeat.check` asks of its owner."""

    WAIT = "wait"  # nothing yet: ask again at `due()`
    PING = "ping"  # send a DeskPing now
    LOST = "lost"  # no answer: take the connection as lost


class Heartbeat:
    """The silence of one connection, from `now` (when it began to be watched) on."""

    def __init__(self, now: float, period: float = HEARTBEAT) -> None:
        """Raises ValueError for a `period` not above 0."""
        if not period > 0:
            raise ValueError("period must be > 0")
        self.period = period
        self.heard_at = now
        self.pinged = False

    def heard(self, now: float) -> None:
        """Something arrived on the connection: any message at all is a sign of life."""
        self.heard_at, self.pinged = now, False

    def due(self) -> float:
        """When `check` has work: the ping, or once pinged, the end of the wait for it."""
        return self.heard_at + (2 if self.pinged else 1) * self.period

    def silent_for(self, now: float) -> float:
        """Seconds since the connection was last heard from."""
        return now - self.heard_at

    def check(self, now: float) -> Beat:
        """What to do at `now`. A check a whole period later than `due()` means the owner's
        own process was not running (stopped, starved, or its machine asleep), and what the
        other end sent meanwhile may still be waiting to be read: the silence was not the
        other end's, so it is asked now and given a period to answer."""
        if now < self.due():
            return Beat.WAIT
        # A whole period past `due`, summed as `due` sums: unpinged, that is the end of the
        # wait a ping sent now would get, so a ping sent short of it always has time to be
        # answered, down to the last rounding of the clock.
        if now >= self.heard_at + (3 if self.pinged else 2) * self.period:
            self.heard_at, self.pinged = now - self.period, False
        if not self.pinged:
            self.pinged = True
            return Beat.PING
        return Beat.LOST
