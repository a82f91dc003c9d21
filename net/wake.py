"""Waking a sans-IO core at the time it asked for. Used by the peer's and the registry's
adapters alike."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class WakeTimer:
    """Runs `tick` no later than the time a core's `next_wake()` names (seconds on the
    monotonic clock, the cores' `now`: a step of the time of day neither fires it early nor
    holds it back). Call `set(core.next_wake())` after every event.

    A timer already armed for an earlier time is kept: the cores' `tick` is harmless when
    nothing is due, and re-arming costs more than the rare early wake-up (each direct
    message would otherwise re-arm twice: its retry deadline, then the keepalive after
    the ack). With `spare`, a timer armed for a later time is kept too, when a sooner
    wake-up is asked for: once the sooner one fires, the spare is the timer (a peer's
    acks held for the registry would otherwise re-arm its keepalive after every relayed
    line). Not for a core whose deadlines move later often: its spare would fire early."""

    def __init__(self, tick: Callable[[], None], *, spare: bool = False) -> None:
        self._tick = tick
        self._keeps_spare = spare
        self._handle: asyncio.TimerHandle | None = None
        #: The time it is set to wake at, or None (read-only outside): an owner whose
        #: deadline is this already need not call `set`.
        self.at: float | None = None
        # a timer armed before for a later time, and that time: the timer once `_handle`
        # has fired
        self._spare: asyncio.TimerHandle | None = None
        self._spare_at = 0.0

    def set(self, wake: float | None) -> None:
        """Be woken at `wake` (or before it), or not at all for None."""
        if wake is None:
            self.cancel()
            return
        handle = self._handle
        if handle is not None and self.at is not None:
            if self.at <= wake:
                return  # armed for no later than that already
            if self._spare is not None:
                self._spare.cancel()
            if self._keeps_spare:
                self._spare, self._spare_at = handle, self.at
            else:
                handle.cancel()
        self.at = wake
        delay = max(0.0, wake - time.monotonic())
        self._handle = asyncio.get_running_loop().call_later(delay, self._fire)

    def cancel(self) -> None:
        """Forget any wake-up."""
        if self._handle is not None:
            self._handle.cancel()
        if self._spare is not None:
            self._spare.cancel()
        self._handle = self._spare = None
        self.at = None

    def _fire(self) -> None:
        # the spare (if any) is the timer now, and fires at its time, unless re-armed
        self._handle, self._spare = self._spare, None
        self.at = self._spare_at if self._handle is not None else None
        self._tick()
