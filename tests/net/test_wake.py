"""The adapters' wake-up timer."""

from __future__ import annotations

import asyncio
import time

import pytest

from net.wake import WakeTimer

pytestmark = pytest.mark.timeout(10)


def test_fires_once_at_the_time_asked_and_keeps_an_unchanged_timer() -> None:
    async def main() -> None:
        fired = asyncio.Event()
        calls: list[float] = []
        timer = WakeTimer(lambda: (calls.append(time.monotonic()), fired.set()))
        wake = time.monotonic() + 0.05
        timer.set(wake)
        handle = timer._handle
        timer.set(wake)  # unchanged: the same timer stays armed
        assert timer._handle is handle
        await asyncio.wait_for(fired.wait(), 5)
        assert len(calls) == 1 and calls[0] >= wake - 0.01

    asyncio.run(main())


def test_none_and_cancel_forget_the_wake_up() -> None:
    async def main() -> None:
        calls: list[int] = []
        timer = WakeTimer(lambda: calls.append(1))
        timer.set(time.monotonic())  # due now
        timer.set(None)
        timer.set(time.monotonic())
        timer.cancel()
        done = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.05, done.set_result, None)
        await done
        assert calls == []

    asyncio.run(main())


def test_an_earlier_timer_is_kept_and_a_sooner_wake_up_re_arms() -> None:
    async def main() -> None:
        fired = asyncio.Event()
        calls: list[float] = []
        timer = WakeTimer(lambda: (calls.append(time.monotonic()), fired.set()))
        soon = time.monotonic() + 0.05
        timer.set(soon)
        handle = timer._handle
        timer.set(soon + 60)  # later: the armed timer fires early, and the tick is harmless
        assert timer._handle is handle
        timer.set(soon - 0.04)  # sooner: re-armed for it
        assert timer._handle is not handle and timer._handle is not None
        # armed for the sooner time (the loop's clock is the monotonic one); when it runs
        # is up to the machine's load, not the timer
        assert timer._handle.when() < soon - 0.03
        await asyncio.wait_for(fired.wait(), 5)
        assert len(calls) == 1

    asyncio.run(main())
