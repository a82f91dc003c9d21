"""Registrations in a join storm: asked to wait while the registry is behind what arrives
(Busy); whole tables asked for by datagram: asked again over TCP when they cannot fit one
(TooBig).

Pure: the caller supplies `now` and how far behind the registry is (Request.behind).
"""

from __future__ import annotations

from collections.abc import Callable

from registry.core.actions import Emit, Log, Send
from registry.core.requests import Answers, Request
from registry.core.table import Table
from wire.codec import record_size
from wire.limits import MAX_DATAGRAM
from wire.messages import Busy, Entry, Register, TooBig
from wire.reliable import TIMEOUT

#: Seconds the registry may be behind what arrives (net.endpoint.Endpoint.behind) before a
#: registration is answered Busy rather than carried out: a retry's worth (TIMEOUT), after
#: which the peer would be asking again already. What it asks to wait, and how often it says so.
BUSY_AFTER = TIMEOUT
BUSY_WAIT_MIN = 1.0
BUSY_WAIT_MAX = 10.0
BUSY_LOG_EVERY = 5.0
#: Rows past which a whole table cannot fit a datagram: each row takes at least as many
#: bytes as the shortest one a table can hold (a one-letter name, no IP, a one-digit port).
#: A Welcome carries the table only up to this many rows (registry/core/table_feed.py).
WELCOME_ROWS = MAX_DATAGRAM // (record_size(Entry("a", "", 1, True)) + 1)


class Pacing:
    """Answers the registrations not to carry out now, for a registry over `table`;
    `jitter` gives a number in [0, 1) that spreads the waits asked."""

    def __init__(self, table: Table, answers: Answers, jitter: Callable[[], float]) -> None:
        self._table = table
        self._answers = answers
        self._jitter = jitter
        self._busy_said = float("-inf")  # when being busy was last logged
        #: Registrations answered Busy, for the console's `stats`.
        self.busy_answers = 0

    def paced(self, msg: Register, req: Request, now: float, emit: Emit) -> bool:
        """Whether `msg` is answered Busy rather than carried out now. (Its Welcome fits a
        datagram whatever the table's size: a big table is not in it.)"""
        if req.behind >= BUSY_AFTER and not self._welcomed(msg):
            self._busy(msg, req, now, emit)
            return True
        return False

    def whole_table_too_big(self, req: Request, emit: Emit) -> bool:
        """Whether `req`, a request by datagram answered with the whole table (a
        TableRequest), is answered TooBig, as the table surely cannot fit a datagram.
        Counted, not encoded: a big table encoded to be found too big cost the registry as
        much as sending it, once more for each peer asking (after a restart, all of them).
        A table of fewer rows may not fit either, and is answered TooBig by the endpoint,
        as any answer too big for a datagram."""
        if req.datagram and len(self._table.records) > WELCOME_ROWS:
            emit(Send(req.addr, TooBig(self._answers.new_id(), req.id), req.asker))
            return True
        return False

    def _welcomed(self, msg: Register) -> bool:
        """Whether `msg` is a copy of a registration carried out already (its Welcome was
        lost): answered as ever, busy or not, as it costs no more than its Welcome."""
        record = self._table.get(msg.name)
        return record is not None and record.online and record.last_register_id == msg.id

    def _busy(self, msg: Register, req: Request, now: float, emit: Emit) -> None:
        """The registry is `req.behind` seconds behind its input: `msg` is asked to come
        again later (twice as long as the registry is behind, from BUSY_WAIT_MIN to
        BUSY_WAIT_MAX, spread by a quarter either way so that the peers told together do
        not come back together)."""
        self.busy_answers += 1
        wait = min(BUSY_WAIT_MAX, max(BUSY_WAIT_MIN, 2 * req.behind))
        wait *= 0.75 + 0.5 * self._jitter()
        busy = Busy(self._answers.new_id(), msg.id, round(wait * 1000))
        emit(Send(req.addr, busy, req.asker))
        if now - self._busy_said >= BUSY_LOG_EVERY:
            self._busy_said = now
            line = f"{req.behind:.1f} s behind what arrives: registrations are asked to wait"
            emit(Log(f"{line} ({msg.name} for {wait:.1f} s)"))
