"""How often one kind of news is said (peer/core/change_lines.py), on a fake clock: a burst at
once, then one line at `due` for all that came meanwhile."""

from __future__ import annotations

import pytest

from peer.core.change_lines import LineBudget

T0 = 1_700_000_000.0


def test_a_burst_is_said_at_once_then_held_for_one_line_at_due() -> None:
    budget = LineBudget(3, 1.0)
    assert [budget.may_say(T0) for _ in range(3)] == [True] * 3
    assert budget.due is None
    assert not budget.may_say(T0 + 0.1)
    assert budget.due == pytest.approx(T0 + 1.0)
    due = budget.due
    assert not budget.may_say(T0 + 0.2) and budget.due == due  # held for the same line
    assert not budget.fire(due - 0.01)
    assert budget.fire(due) and budget.due is None


def test_the_line_at_due_spends_the_budget() -> None:
    budget = LineBudget(3, 1.0)
    for _ in range(4):
        budget.may_say(T0)
    fired = budget.due
    assert fired is not None and budget.fire(fired)
    assert not budget.may_say(fired + 0.5)  # the next a whole `every` after it, not at once
    assert budget.due == pytest.approx(fired + 1.0)
    assert budget.fire(budget.due)
    quiet = fired + 1.0 + 3.0  # the whole burst back
    assert [budget.may_say(quiet) for _ in range(4)] == [True] * 3 + [False]


def test_a_cancelled_line_holds_nothing() -> None:
    budget = LineBudget(1, 1.0)
    assert budget.may_say(T0) and not budget.may_say(T0)
    budget.cancel()
    assert budget.due is None and not budget.fire(T0 + 5.0)


def test_a_clock_set_back_does_not_hold_the_line_back_for_long() -> None:
    budget = LineBudget(2, 1.0)
    for _ in range(3):
        budget.may_say(T0)
    back = T0 - 3600.0
    assert not budget.fire(back)  # nothing from the step
    assert budget.due is not None and budget.due <= back + 1.0  # not an hour later
    assert budget.fire(budget.due)


@pytest.mark.parametrize(("burst", "every"), [(0, 1.0), (3, 0.0), (3, -1.0)])
def test_a_budget_that_would_never_say_a_line_is_refused(burst: int, every: float) -> None:
    with pytest.raises(ValueError):
        LineBudget(burst, every)
