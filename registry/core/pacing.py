"""Registrations asked to wait while the registry is behind what arrives (Busy)."""

from __future__ import annotations

from collections.abc import Callable

from registry.core.actions import Emit, Log
from registry.core.requests import Answers, Request
from registry.core.table import Table
from wire.messages import Busy, Register
from wire.reliable import TIMEOUT

#: Seconds the registry may be behind before a registration is answered Busy (a retry's
#: worth); what it asks to wait, and how often it says so.
BUSY_AFTER = TIMEOUT
BUSY_WAIT_MIN = 1.0
BUSY_WAIT_MAX = 10.0
BUSY_LOG_EVERY = 5.0


class Pacing:
    """Answers the registrations not to carry out now; `jitter` in [0, 1) spreads waits."""

    def __init__(self, table: Table, answers: Answers, jitter: Callable[[], float]) -> None:
        self._table = table
        self._answers = answers
        self._jitter = jitter
        self._busy_said = float("-inf")  # when being busy was last logged
        #: registrations answered Busy, for the console's `stats`
        self.busy_answers = 0

    def paced(self, msg: Register, req: Request, now: float, emit: Emit) -> bool:
        """Whether `msg` is answered Busy rather than carried out now (never a copy of a
        registration carried out already)."""
        if req.behind < BUSY_AFTER:
            return False
        record = self._table.get(msg.name)
        if record is not None and record.online and record.last_register_id == msg.id:
            return False
        self._busy(msg, req, now, emit)
        return True

    def _busy(self, msg: Register, req: Request, now: float, emit: Emit) -> None:
        self.busy_answers += 1
        wait = min(BUSY_WAIT_MAX, max(BUSY_WAIT_MIN, 2 * req.behind))
        wait *= 0.75 + 0.5 * self._jitter()
        self._answers.reply(req, emit, Busy, round(wait * 1000))
        if now - self._busy_said >= BUSY_LOG_EVERY:
            self._busy_said = now
            line = f"{req.behind:.1f} s behind what arrives: registrations are asked to wait"
            emit(Log(f"{line} ({msg.name} for {wait:.1f} s)"))
