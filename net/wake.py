"""Waking a sans-IO core at the time it asked for."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class WakeTimer:
    """Runs `tick` no later than the time `set` names, by `clock` (a timer armed for earlier
    is kept). With `spare`, one armed for later is kept too when a sooner wake-up is asked
    for, and is the timer once that fires (not for deadlines that often move later)."""

    def __init__(
        self,
        tick: Callable[[], None],
        *,
        spare: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tick = tick
        self._clock = clock
        self._keeps_spare = spare
        self._handle: asyncio.TimerHandle | None = None
        #: The time it is set to wake at, or None (read-only outside).
        self.at: float | None = None
        # a timer armed before for a later time, and that time
        self._spare: asyncio.TimerHandle | None = None
        self._spare_at = 0.0

    def set(self, wake: float | None) -> None:
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
        delay = max(0.0, wake - self._clock())
        self._handle = asyncio.get_running_loop().call_later(delay, self._fire)

    def cancel(self) -> None:
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
