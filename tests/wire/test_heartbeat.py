"""The heartbeat of one desk connection (wire/heartbeat.py), on a fake clock."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from wire.heartbeat import Beat, Heartbeat

P = 10.0


def test_a_silent_connection_is_pinged_after_a_period_then_lost_after_two() -> None:
    beat = Heartbeat(0.0, P)
    assert beat.due() == P and beat.check(P - 0.1) is Beat.WAIT
    assert beat.check(P) is Beat.PING
    assert beat.due() == 2 * P and beat.check(2 * P - 0.1) is Beat.WAIT
    assert beat.check(2 * P) is Beat.LOST
    assert beat.silent_for(2 * P) == 2 * P


def test_anything_heard_starts_the_silence_again() -> None:
    beat = Heartbeat(0.0, P)
    assert beat.check(P) is Beat.PING
    beat.heard(P + 1)  # the answer to the ping, or any other message
    assert beat.due() == 2 * P + 1 and beat.check(2 * P) is Beat.WAIT
    assert beat.check(2 * P + 1) is Beat.PING


def test_a_check_a_whole_period_late_asks_before_blaming_the_other_end() -> None:
    # the owner's own process was stopped: what the other end sent may still be unread
    beat = Heartbeat(0.0, P)
    assert beat.check(5 * P) is Beat.PING
    assert beat.check(6 * P - 0.1) is Beat.WAIT  # a period to answer, from now
    assert beat.check(6 * P) is Beat.LOST


def test_a_period_not_above_zero_is_refused() -> None:
    with pytest.raises(ValueError):
        Heartbeat(0.0, 0.0)


@given(st.lists(st.tuples(st.booleans(), st.floats(0.0, 3 * P)), max_size=40))
# found by hypothesis: the clock's 32.389452467948306 is the sum 12.389452467948306 + 20.0
# rounded, yet their difference rounds to just under 20.0
@example([(False, 1.3894524679483062), (True, 11.0), (False, 10.0), (False, 10.0)])
def test_lost_only_after_two_periods_of_silence_and_an_unanswered_ping(
    steps: list[tuple[bool, float]],
) -> None:
    """Whatever the order of arrivals and checks: a connection is taken as lost only when
    nothing was heard for at least two periods and a ping went out before, with time to
    answer it (a check late by a period or more pings again instead). Times are points on
    the clock: "two periods after" is the sum `heard_at + 2 * P`, as `due()` sums it, not a
    difference of two clock readings, which rounds otherwise."""
    now = 0.0
    beat = Heartbeat(now, P)
    pinged_at: float | None = None
    heard_at = now
    for heard, gap in steps:
        now += gap
        if heard:
            beat.heard(now)
            heard_at, pinged_at = now, None
            continue
        match beat.check(now):
            case Beat.PING:
                pinged_at = now
            case Beat.LOST:
                assert pinged_at is not None and now > pinged_at
                assert now >= heard_at + 2 * P
                return
        assert beat.due() > now


def test_a_ping_sent_just_short_of_a_whole_period_late_still_gets_time_to_be_answered() -> None:
    # found by hypothesis: 12.01768101108053 + 10 + 10 rounds to the time of the check,
    # which the subtraction `now - due` had taken as less than a period late
    beat = Heartbeat(0.0, P)
    beat.heard(12.01768101108053)
    now = 12.01768101108053 + 20.0
    assert beat.check(now) is Beat.PING
    assert beat.due() > now
