"""CarriedOut: a core's list of actions that carries each out as it is appended."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from peer.carried_out import CarriedOut


def test_each_way_of_adding_carries_out_in_order_and_keeps_nothing() -> None:
    done: list[str] = []
    out = CarriedOut(done.append)
    out.append("a")
    assert done == ["a"]  # at once, not when the event is over
    out.extend(iter(["b", "c"]))
    out += ["d"]
    assert done == ["a", "b", "c", "d"]
    assert len(out) == 0 and list(out) == []


@given(st.lists(st.lists(st.integers(), max_size=4), max_size=10))
def test_carried_out_in_the_order_a_plain_list_would_hold_them(
    steps: list[list[int]],
) -> None:
    """Whatever mix of appends and extends a core makes, the actions are carried out in the
    order a plain list would have held them."""
    done: list[int] = []
    out = CarriedOut(done.append)
    plain: list[int] = []
    for step in steps:
        if len(step) == 1:
            out.append(step[0])
            plain.append(step[0])
        else:
            out.extend(step)
            plain.extend(step)
    assert done == plain
