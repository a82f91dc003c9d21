"""How often one kind of line is said (wire/tally.py), on a fake clock: a burst at once, then
one line at `due` for all that came meanwhile, which says how many and of whom."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wire.tally import Counted, Tally

T0 = 1_700_000_000.0


def test_a_burst_is_said_at_once_then_held_for_one_line_at_due() -> None:
    tally = Tally(3, 1.0)
    assert [tally.offer(T0) for _ in range(3)] == [True] * 3
    assert tally.due is None
    assert not tally.offer(T0 + 0.1)
    assert tally.due == pytest.approx(T0 + 1.0)
    due = tally.due
    assert not tally.offer(T0 + 0.2) and tally.due == due  # held for the same line
    assert tally.take(due - 0.01) is None
    assert tally.take(due) is not None and tally.due is None


def test_the_line_at_due_spends_the_budget() -> None:
    tally = Tally(3, 1.0)
    for _ in range(4):
        tally.offer(T0)
    fired = tally.due
    assert fired is not None and tally.take(fired)
    assert not tally.offer(fired + 0.5)  # the next a whole `every` after it, not at once
    assert tally.due == pytest.approx(fired + 1.0)
    assert tally.take(tally.due)
    quiet = fired + 1.0 + 3.0  # the whole burst back
    assert [tally.offer(quiet) for _ in range(4)] == [True] * 3 + [False]


def test_the_line_counts_and_names_the_first_few_each_once_and_gives_the_last() -> None:
    tally = Tally(1, 10.0, names_kept=2)
    assert tally.offer(T0, "ann", "first")
    for name in ["bob", "bob", "cy", "ann"]:
        assert not tally.offer(T0 + 1, name, f"from {name}")
    assert tally.due == T0 + 10.0  # exact: one line, `every` after the last
    counted = tally.take(T0 + 10.0)
    assert counted == Counted(4, ["bob", "cy"], others=True, last="from ann")
    assert counted.named(" and others") == "bob, cy and others"
    assert not tally.offer(T0 + 19.9, "x") and tally.take(T0 + 20.0) == Counted(1, ["x"], False, "")


def test_a_cancelled_line_holds_nothing() -> None:
    tally = Tally(1, 1.0)
    assert tally.offer(T0) and not tally.offer(T0)
    tally.cancel()
    assert tally.due is None and tally.take(T0 + 5.0) is None


def test_a_clock_set_back_does_not_hold_the_line_back_for_long() -> None:
    tally = Tally(2, 1.0)
    for _ in range(3):
        tally.offer(T0)
    back = T0 - 3600.0
    assert tally.take(back) is None  # nothing from the step
    assert tally.due is not None and tally.due <= back + 1.0  # not an hour later
    assert tally.take(tally.due)


@pytest.mark.parametrize(("burst", "every"), [(0, 1.0), (3, 0.0), (3, -1.0)])
def test_a_tally_that_would_never_say_a_line_is_refused(burst: int, every: float) -> None:
    with pytest.raises(ValueError):
        Tally(burst, every)


@given(
    st.integers(1, 4),
    st.lists(st.tuples(st.floats(0, 3), st.booleans()), max_size=200),
)
def test_every_line_is_said_or_counted_once_and_few_lines_are_said(
    burst: int, steps: list[tuple[float, bool]]
) -> None:
    tally, now, said, counted = Tally(burst, 1.0), T0, 0, 0
    lines = 0
    for step, ticks in steps:
        now += step
        if ticks and (held := tally.take(now)) is not None:
            counted, lines = counted + held.count, lines + 1
        if tally.offer(now):
            said, lines = said + 1, lines + 1
    end = now + burst + 1.0
    if (held := tally.take(end)) is not None:
        counted, lines = counted + held.count, lines + 1
    assert said + counted == len(steps) and tally.due is None
    # a burst, then one line a second at most, and one to end
    assert lines <= burst + (end - T0) + 1
