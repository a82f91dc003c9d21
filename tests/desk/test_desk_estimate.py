"""The help desk's wait estimate: moving averages, the typical length before them, and the
range shown."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.core.desk.limits import TYPICAL_SESSION
from registry.core.desk.state import ALPHA, MIN_HISTORY, Average, Estimator, whole
from tests.hypothesis_profiles import examples
from wire.desk.messages import EST_MEASURED, EST_NOBODY, EST_TYPICAL
from wire.desk.text import format_estimate


def test_the_first_sample_seeds_the_average() -> None:
    est = Estimator()
    est.record(2, 100.0)
    assert est.by_topic[2].mean == 100.0
    assert est.overall.mean == 100.0
    assert est.by_topic[2].dev == 50.0


def test_the_newest_sample_weighs_a_quarter() -> None:
    average = Average()
    average.add(100.0)
    average.add(200.0)
    assert ALPHA == 0.25
    assert average.mean == pytest.approx(0.75 * 100 + 0.25 * 200)
    assert average.dev == pytest.approx(0.75 * 50 + 0.25 * 100)
    assert average.count == 2


def test_before_any_history_the_typical_length_gives_the_range() -> None:
    est = Estimator(typical=600.0)
    # next in line, the only operator just began a session: half to one and a half of it
    assert est.estimate(2, 0, [(2, 0.0)]) == whole(EST_TYPICAL, 300.0, 900.0)
    # two ahead, the operator free: 2 x 600 s, each counting for 300 to 900 s, give or
    # take half a session more
    assert est.estimate(2, 2, [None]) == whole(EST_TYPICAL, 300.0, 2100.0)
    # two operators share those ahead
    assert est.estimate(2, 2, [None, None]) == whole(EST_TYPICAL, 0.0, 1200.0)
    assert format_estimate(*est.estimate(2, 0, [(2, 0.0)])) == (
        "5-15 min, from a typical session length"
    )


def test_the_default_typical_session_is_ten_minutes() -> None:
    assert TYPICAL_SESSION == 600.0
    assert Estimator().estimate(2, 0, [(2, 0.0)]) == Estimator(typical=600.0).estimate(
        2, 0, [(2, 0.0)]
    )


def test_the_measured_average_takes_over_at_the_third_session_ended() -> None:
    est = Estimator(typical=600.0)
    typical = est.estimate(2, 3, [None])
    for _ in range(MIN_HISTORY - 1):
        est.record(2, 60.0)
        assert est.estimate(2, 3, [None]) == typical  # not blended: still the typical one
    est.record(2, 60.0)
    measured = est.estimate(2, 3, [None])
    assert measured.kind == EST_MEASURED
    assert measured.low <= 3 * 60.0 <= measured.high


def test_an_operator_busy_before_any_history_is_free_after_a_typical_session() -> None:
    est = Estimator(typical=600.0)
    assert est.estimate(1, 0, [(3, 200.0)]) == whole(EST_TYPICAL, 100.0, 700.0)
    # past the typical length, a session still has half as long again to go (OVERRUN)
    assert est.estimate(1, 0, [(3, 1000.0)]) == whole(EST_TYPICAL, 200.0, 800.0)


def test_a_topic_with_too_few_sessions_uses_the_overall_average() -> None:
    est = Estimator()
    for _ in range(3):
        est.record(1, 120.0)
    est.record(5, 600.0)  # one session of topic 5: not enough for its own average
    average = est.average(5)
    assert average is est.overall
    for _ in range(2):
        est.record(5, 600.0)
    assert est.average(5) is est.by_topic[5]


def test_nobody_on_duty_gives_no_figure() -> None:
    est = Estimator()
    for _ in range(3):
        est.record(1, 60.0)
    assert est.estimate(1, 0, []) == whole(EST_NOBODY)


def steady(seconds: float) -> Estimator:
    """An estimator whose sessions all lasted `seconds` (deviation decays towards 0)."""
    est = Estimator()
    for _ in range(60):
        est.record(1, seconds)
    return est


def test_remaining_time_plus_people_ahead_over_operators() -> None:
    est = steady(100.0)
    # One operator 40 s into a session: 60 s left, then two people ahead of 100 s each.
    result = est.estimate(1, 2, [(1, 40.0)])
    assert result.low == pytest.approx(260.0, abs=1)
    assert result.high == pytest.approx(260.0, abs=1)


def test_k_operators_share_the_people_ahead() -> None:
    est = steady(100.0)
    one = est.estimate(1, 4, [(1, 0.0)])
    two = est.estimate(1, 4, [(1, 0.0), (1, 50.0)])
    assert one.low == pytest.approx(100 + 4 * 100, abs=1)
    # The sooner-free operator has 50 s left; 4 people ahead over 2 operators = 2 sessions.
    assert two.low == pytest.approx(50 + 2 * 100, abs=1)


def test_an_idle_operator_means_no_remaining_time() -> None:
    est = steady(100.0)
    assert est.estimate(1, 0, [None, (1, 10.0)]).high == pytest.approx(0.0, abs=1)


def test_a_session_past_its_average_is_not_about_to_end() -> None:
    est = steady(60.0)
    # ten minutes into a session when most take one: half as long again, not 0 s
    result = est.estimate(1, 0, [(1, 600.0)])
    assert result.low == pytest.approx(300.0, abs=1)
    assert format_estimate(*result) == "about 5 min, measured from recent sessions"
    # and it goes on growing while the session does
    assert est.estimate(1, 0, [(1, 1200.0)]).low > result.low
    # before two thirds of the average, what is left of the average counts
    assert est.estimate(1, 0, [(1, 30.0)]).low == pytest.approx(30.0, abs=1)


def test_the_range_widens_with_the_deviation_and_never_goes_below_zero() -> None:
    est = Estimator()
    for seconds in (10.0, 300.0, 20.0, 400.0):
        est.record(1, seconds)
    result = est.estimate(1, 1, [None])
    assert result.low == 0.0
    assert result.high > result.low


def test_the_wire_form_rounds_outwards_to_whole_seconds() -> None:
    assert whole(EST_MEASURED, 10.7, 20.2) == (EST_MEASURED, 10, 21)
    assert whole(EST_MEASURED, -5.0, -1.0) == (EST_MEASURED, 0, 0)
    assert whole(EST_TYPICAL) == (EST_TYPICAL, 0, 0)


@settings(deadline=None)
@given(
    samples=st.lists(st.tuples(st.integers(1, 6), st.floats(0, 1e6, allow_nan=False)), max_size=20),
    topic=st.integers(1, 6),
    ahead=st.integers(0, 100),
    busy=st.lists(
        st.none() | st.tuples(st.integers(1, 6), st.floats(0, 1e7, allow_nan=False)),
        max_size=5,
    ),
)
def test_an_estimate_is_never_negative_and_low_is_at_most_high(
    samples: list[tuple[int, float]],
    topic: int,
    ahead: int,
    busy: list[tuple[int, float] | None],
) -> None:
    est = Estimator()
    for t, seconds in samples:
        est.record(t, seconds)
    result = est.estimate(topic, ahead, busy)
    kind, low, high = result
    assert 0 <= low <= high
    assert 0 <= result.low <= result.high
    assert kind in (EST_MEASURED, EST_TYPICAL, EST_NOBODY)
    assert (kind == EST_TYPICAL) == (bool(busy) and len(samples) < MIN_HISTORY)


def test_bad_parameters_are_refused() -> None:
    for typical in (0.0, -60.0, math.inf, math.nan):
        with pytest.raises(ValueError):
            Estimator(typical=typical)


SAMPLES = st.lists(st.tuples(st.integers(1, 6), st.floats(0, 1e5, allow_nan=False)), max_size=20)
TYPICAL = st.floats(10.0, 4 * 3600.0)
BUSY = st.lists(
    st.none() | st.tuples(st.integers(1, 6), st.floats(0, 1e5, allow_nan=False)),
    min_size=1,
    max_size=5,
)


@settings(max_examples=examples(150), deadline=None)
@given(
    samples=SAMPLES, typical=TYPICAL, topic=st.integers(1, 6), ahead=st.integers(0, 60), busy=BUSY
)
def test_nobody_further_back_is_shown_a_shorter_wait(
    samples: list[tuple[int, float]],
    typical: float,
    topic: int,
    ahead: int,
    busy: list[tuple[int, float] | None],
) -> None:
    est = Estimator(typical=typical)
    for t, seconds in samples:
        est.record(t, seconds)
    before = est.estimate(topic, ahead, busy)
    after = est.estimate(topic, ahead + 1, busy)
    assert after.low >= before.low - 1e-6  # however wide the deviation
    assert after.high >= before.high
    low, high = before[1:]
    later_low, later_high = after[1:]
    assert later_low >= low and later_high >= high


def test_the_history_is_carried_over_whole() -> None:
    est = steady(100.0)
    est.record(3, 50.0)
    overall, by_topic = est.history()
    again = Estimator()
    again.restore_history(overall, by_topic)
    assert again.estimate(1, 2, [(3, 10.0)]) == est.estimate(1, 2, [(3, 10.0)])
    again.record(3, 70.0)  # later sessions fold into it; the copy given is left alone
    assert by_topic[3].count == 1 and again.by_topic[3].count == 2


@settings(deadline=None)
@given(
    samples=SAMPLES,
    typical=TYPICAL,
    topic=st.integers(1, 6),
    ahead=st.integers(0, 60),
    busy=BUSY,
    more=BUSY,
)
def test_more_operators_never_make_the_wait_longer(
    samples: list[tuple[int, float]],
    typical: float,
    topic: int,
    ahead: int,
    busy: list[tuple[int, float] | None],
    more: list[tuple[int, float] | None],
) -> None:
    est = Estimator(typical=typical)
    for t, seconds in samples:
        est.record(t, seconds)
    fewer = est.estimate(topic, ahead, busy)
    added = est.estimate(topic, ahead, busy + more)
    assert added.low <= fewer.low + 1e-6 and added.high <= fewer.high + 1e-6


@settings(deadline=None)
@given(
    samples=st.lists(st.tuples(st.integers(1, 6), st.floats(0, 1e5)), max_size=MIN_HISTORY - 1),
    typical=TYPICAL,
    longer=st.floats(0, 3600.0),
    topic=st.integers(1, 6),
    ahead=st.integers(0, 60),
    busy=BUSY,
)
def test_before_three_sessions_a_longer_typical_session_never_shortens_the_wait(
    samples: list[tuple[int, float]],
    typical: float,
    longer: float,
    topic: int,
    ahead: int,
    busy: list[tuple[int, float] | None],
) -> None:
    short, long = Estimator(typical=typical), Estimator(typical=typical + longer)
    for t, seconds in samples:  # too few to be measured: they change nothing yet
        short.record(t, seconds)
    assert short.estimate(topic, ahead, busy) == Estimator(typical=typical).estimate(
        topic, ahead, busy
    )
    before, after = short.estimate(topic, ahead, busy), long.estimate(topic, ahead, busy)
    assert before.kind == after.kind == EST_TYPICAL
    assert after.high >= before.high - 1e-6
