"""The peer's pace towards the registry (peer.core.requests.Order): a token bucket, full at
the start, with a fake clock; and its figures below the registry's flood gate. The bucket's own
properties (its bound, a take at `next_at`) are tested in tests/wire/test_token_bucket.py."""

from __future__ import annotations

import pytest

from peer.core.requests import PACE_BURST, PACE_RATE, Order
from wire.limits import REGISTRY_BURST, REGISTRY_RATE

T0 = 1000.0


def test_the_pace_stays_below_the_registry_flood_gate() -> None:
    assert PACE_RATE < REGISTRY_RATE and PACE_BURST < REGISTRY_BURST


def test_a_burst_goes_at_once_then_one_per_period() -> None:
    pace = Order(rate=10.0, burst=3.0)
    assert [pace.pace_allows(T0) for _ in range(4)] == [True, True, True, False]
    assert pace.next_at() == pytest.approx(T0 + 0.1)
    assert not pace.pace_allows(T0 + 0.05)
    assert pace.next_at() == pytest.approx(T0 + 0.1)
    assert pace.pace_allows(T0 + 0.1) and not pace.pace_allows(T0 + 0.1)


def test_a_quiet_time_fills_it_up_to_its_burst_only() -> None:
    pace = Order(rate=10.0, burst=3.0)
    for _ in range(3):
        pace.pace_allows(T0)
    assert sum(pace.pace_allows(T0 + 60.0) for _ in range(10)) == 3


def test_when_it_may_go_at_once_next_at_is_not_later_than_now() -> None:
    pace = Order(rate=10.0, burst=3.0)
    assert pace.next_at() <= T0
    pace.pace_allows(T0)
    assert pace.next_at() <= T0


def test_a_clock_stepped_back_adds_nothing_and_does_not_stall() -> None:
    pace = Order(rate=10.0, burst=2.0)
    assert pace.pace_allows(T0) and pace.pace_allows(T0) and not pace.pace_allows(T0)
    assert not pace.pace_allows(T0 - 3600.0)  # an hour back: no tokens from it
    assert pace.pace_allows(T0 - 3600.0 + 0.2)  # and it goes on at its rate from there


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 5.0), (-1.0, 5.0), (10.0, 0.5)])
def test_a_pace_that_would_never_let_anything_go_is_refused(rate: float, burst: float) -> None:
    with pytest.raises(ValueError):
        Order(rate=rate, burst=burst)


def test_a_wake_up_at_next_at_finds_a_message_ready_at_todays_clock() -> None:
    # Issue: counted in fractions of tokens at a clock of 1.7e9 s, a wake-up at `next_at`
    # found nothing to send, again and again
    pace = Order()
    now = 1_700_000_000.1234567
    for _ in range(3 * int(PACE_BURST)):
        if not pace.pace_allows(now):
            now = pace.next_at()
            assert pace.pace_allows(now)
