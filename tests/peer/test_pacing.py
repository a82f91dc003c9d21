"""The peer's pace towards the registry (peer.pacing): a token bucket, full at the start,
with a fake clock; and its figures below the registry's flood gate."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peer.pacing import PACE_BURST, PACE_RATE, Pace
from registry.flood import BURST, RATE

T0 = 1000.0


def test_the_pace_stays_below_the_registry_flood_gate() -> None:
    assert PACE_RATE < RATE and PACE_BURST < BURST


def test_a_burst_goes_at_once_then_one_per_period() -> None:
    pace = Pace(rate=10.0, burst=3.0)
    assert [pace.take(T0) for _ in range(4)] == [True, True, True, False]
    assert pace.next_at() == pytest.approx(T0 + 0.1)
    assert not pace.take(T0 + 0.05)
    assert pace.next_at() == pytest.approx(T0 + 0.1)
    assert pace.take(T0 + 0.1) and not pace.take(T0 + 0.1)


def test_a_quiet_time_fills_it_up_to_its_burst_only() -> None:
    pace = Pace(rate=10.0, burst=3.0)
    for _ in range(3):
        pace.take(T0)
    assert sum(pace.take(T0 + 60.0) for _ in range(10)) == 3


def test_when_it_may_go_at_once_next_at_is_not_later_than_now() -> None:
    pace = Pace(rate=10.0, burst=3.0)
    assert pace.next_at() <= T0
    pace.take(T0)
    assert pace.next_at() <= T0


def test_a_clock_stepped_back_adds_nothing_and_does_not_stall() -> None:
    pace = Pace(rate=10.0, burst=2.0)
    assert pace.take(T0) and pace.take(T0) and not pace.take(T0)
    assert not pace.take(T0 - 3600.0)  # an hour back: no tokens from it
    assert pace.take(T0 - 3600.0 + 0.2)  # and it goes on at its rate from there


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 5.0), (-1.0, 5.0), (10.0, 0.5)])
def test_a_pace_that_would_never_let_anything_go_is_refused(rate: float, burst: float) -> None:
    with pytest.raises(ValueError):
        Pace(rate=rate, burst=burst)


@settings(max_examples=200, deadline=None)
@given(
    gaps=st.lists(st.floats(min_value=0.0, max_value=0.5), min_size=1, max_size=200),
    rate=st.floats(min_value=1.0, max_value=1000.0),
    burst=st.integers(min_value=1, max_value=50),
)
def test_never_more_than_its_burst_and_rate_allow(
    gaps: list[float], rate: float, burst: int
) -> None:
    """Whatever the times asked at: in any stretch of time, at most `burst` plus `rate`
    times its length go; and what is refused may go at `next_at`, not before."""
    pace = Pace(rate=rate, burst=float(burst))
    now, times = T0, []
    for gap in gaps:
        now += gap
        if pace.take(now):
            times.append(now)
        else:
            ready = pace.next_at()
            assert ready > now
            assert pace.take(ready)  # at next_at exactly, whatever the rounding
            now = ready
            times.append(now)
    for i, start in enumerate(times):
        for j in range(i, len(times)):
            assert j - i + 1 <= burst + (times[j] - start) * rate + 1e-6
