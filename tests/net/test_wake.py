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
        timer.set(wake)  # unchanged: the timer stays armed for it
        assert timer.at == wake
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
        assert timer.at is None
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
        timer.set(soon + 60)  # later: the armed timer fires early, and the tick is harmless
        assert timer.at == soon
        timer.set(soon - 0.04)  # sooner: re-armed for it
        assert timer.at == soon - 0.04
        await asyncio.wait_for(fired.wait(), 5)
        assert len(calls) == 1

    asyncio.run(main())


def test_a_sooner_wake_up_keeps_the_later_timer_as_its_spare() -> None:
    async def main() -> None:
        # each call: when, and what the timer is armed for after it (not how soon the
        # first came: a loaded machine may run both at once, in the order of their times)
        calls: list[tuple[float, float | None]] = []
        both = asyncio.Event()
        timer = WakeTimer(
            lambda: (calls.append((time.monotonic(), timer.at)), len(calls) == 2 and both.set()),
            spare=True,
        )
        later = time.monotonic() + 0.08
        timer.set(later)
        timer.set(later - 0.06)  # sooner: the one armed for later is kept
        await asyncio.wait_for(both.wait(), 5)
        (_, then_armed_for), (second, _) = calls
        assert then_armed_for == later  # the sooner fired first, and the spare is the timer
        assert second >= later - 0.01  # which fires at its time, not before
        assert timer.at is None

    asyncio.run(main())


def test_a_spare_is_the_timer_once_the_sooner_fired_and_a_set_for_it_keeps_it() -> None:
    async def main() -> None:
        calls: list[float] = []
        first = asyncio.Event()
        timer = WakeTimer(lambda: (calls.append(time.monotonic()), first.set()), spare=True)
        later = time.monotonic() + 60
        timer.set(later)
        timer.set(time.monotonic())  # due now
        await asyncio.wait_for(first.wait(), 5)
        assert timer.at == later  # the spare, armed already: no new timer for it
        timer.set(later)
        assert timer.at == later
        timer.cancel()
        assert timer.at is None and len(calls) == 1

    asyncio.run(main())
