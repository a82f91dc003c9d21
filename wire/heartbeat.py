"""The heartbeat of one desk connection, at either end, sans-IO: after `period` seconds of
silence the other end is pinged (`DeskPing`); after twice as long it is lost."""

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
        if not period > 0:
            raise ValueError("period must be > 0")
        self.period = period
        self.heard_at = now
        self.pinged = False

    def heard(self, now: float) -> None:
        self.heard_at, self.pinged = now, False

    def due(self) -> float:
        """When `check` has work: the ping, or once pinged, the end of the wait for it."""
        return self.heard_at + (2 if self.pinged else 1) * self.period

    def silent_for(self, now: float) -> float:
        return now - self.heard_at

    def check(self, now: float) -> Beat:
        """What to do at `now`. A check a whole period past `due()` means our own process
        was not running: the other end is pinged now and given a period to answer."""
        if now < self.due():
            return Beat.WAIT
        # summed as `due` sums: a ping sent short of it has a whole period, to the bit
        if now >= self.heard_at + (3 if self.pinged else 2) * self.period:
            self.heard_at, self.pinged = now - self.period, False
        if not self.pinged:
            self.pinged = True
            return Beat.PING
        return Beat.LOST
