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
    the ack)."""

    def __init__(self, tick: Callable[[], None]) -> None:
        self._tick = tick
        self._handle: asyncio.TimerHandle | None = None
        #: The time it is set to wake at, or None (read-only outside): an owner whose
        #: deadline is this already need not call `set`.
        self.at: float | None = None

    def set(self, wake: float | None) -> None:
        """Be woken at `wake` (or before it), or not at all for None."""
        if wake is None:
            self.cancel()
            return
        if self._handle is not None and self.at is not None and self.at <= wake:
            return  # armed for no later than that already
        self.cancel()
        self.at = wake
        delay = max(0.0, wake - time.monotonic())
        self._handle = asyncio.get_running_loop().call_later(delay, self._fire)

    def cancel(self) -> None:
        """Forget any wake-up."""
        if self._handle is not None:
            self._handle.cancel()
        self._handle = None
        self.at = None

    def _fire(self) -> None:
        self._handle = None
        self.at = None
        self._tick()
