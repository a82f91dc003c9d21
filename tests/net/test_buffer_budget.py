"""BufferBudget: what connections hold in all stays within the budget, the largest goes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secure.stream import BufferBudget


def test_over_the_budget_the_connection_holding_most_is_dropped() -> None:
    budget = BufferBudget(100)
    assert budget.hold("a", 40) == [] and budget.hold("b", 50) == []
    assert budget.hold("c", 20) == ["b"]  # 110: b holds most, not the newcomer
    assert budget.total == 60 and budget.held("b") == 0 and budget.dropped == 1
    assert budget.hold("a", 95) == ["a"]  # the one growing may be the one to go
    assert budget.total == 20


def test_a_message_completed_or_a_connection_closed_holds_nothing() -> None:
    budget = BufferBudget(100)
    budget.hold("a", 60)
    budget.hold("a", 0)
    budget.hold("b", 70)
    budget.hold("b", 0)
    budget.hold("unknown", 0)
    assert budget.total == 0 and budget.hold("c", 100) == []


def test_the_budget_must_be_positive() -> None:
    with pytest.raises(ValueError):
        BufferBudget(0)


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 400)), max_size=100))
def test_any_sequence_stays_within_the_budget_dropping_the_largest(
    steps: list[tuple[int, int]],
) -> None:
    budget = BufferBudget(1000)
    held: dict[int, int] = {}
    for conn, size in steps:
        held[conn] = size
        before = dict(held)
        dropped = budget.hold(conn, size)
        for gone in dropped:
            # the largest of those still held at that moment
            assert held[gone] == max(held.values())
            del held[gone]
        assert sum(held.values()) == budget.total <= 1000
        assert not dropped or sum(before.values()) > 1000
        held = {c: s for c, s in held.items() if s}
