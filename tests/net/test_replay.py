"""The secure channel's replay window against WireGuard's own cases and a model of what
it should accept."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secure.sessions import REJECT_AFTER_MESSAGES, WINDOW, ReplayWindow
from tests.hypothesis_profiles import examples

pytestmark = pytest.mark.timeout(20)


def test_in_order_reordered_duplicate_too_old_and_a_huge_jump() -> None:
    window = ReplayWindow()
    assert [window.accept(c) for c in (0, 1, 2, 3)] == [True] * 4  # in order
    assert [window.accept(c) for c in (10, 7, 9, 4, 8)] == [True] * 5  # reordered
    assert not window.accept(7) and not window.accept(10) and not window.accept(0)  # duplicates
    assert window.accept(10 + WINDOW)  # 10 is now the oldest still in the window
    assert not window.accept(5) and not window.accept(6)  # never seen, but too old
    assert window.accept(11) and not window.accept(11)
    assert window.accept(2**40)  # a huge jump forgets everything
    assert not window.accept(10 + WINDOW)
    assert window.accept(2**40 - WINDOW) and not window.accept(2**40 - WINDOW - 1)


def test_the_oldest_counter_in_the_window_is_still_remembered() -> None:
    window = ReplayWindow()
    assert window.accept(100) and window.accept(100 + WINDOW)
    assert not window.accept(100)
    assert window.accept(99 + 2 * WINDOW)  # one slide short of a whole window
    assert not window.accept(100 + WINDOW)


def test_the_ring_of_bytes_wraps_as_wireguards_ring_of_64_bit_blocks() -> None:
    # steps about a byte's counters, a block's and the whole ring's, many turns of the ring
    window, seen, highest = ReplayWindow(), set(), 0
    for step in (1, 7, 8, 9, 63, 64, 65, 8255, 8256, 8257):
        for _ in range(300):
            highest += step
            for c in (highest, highest - 1, highest - step, highest - WINDOW, highest - WINDOW - 1):
                fresh = c >= 0 and highest - c <= WINDOW and c not in seen
                assert window.accept(c) is fresh, (step, highest, c)
                seen.add(c)


def test_the_limits() -> None:
    window = ReplayWindow()
    assert not window.accept(-1)
    assert not window.accept(REJECT_AFTER_MESSAGES) and not window.accept(2**64)
    assert window.accept(REJECT_AFTER_MESSAGES - 1)
    assert not window.accept(REJECT_AFTER_MESSAGES - 1)
    assert window.accept(REJECT_AFTER_MESSAGES - 1 - WINDOW)
    assert REJECT_AFTER_MESSAGES == 2**64 - 2**13 - 1 and WINDOW == 8128


def test_wireguards_own_sequence() -> None:
    # The sequence of the kernel's selftest/counter.c and wireguard-go's replay_test.go
    lim = WINDOW + 1
    last = REJECT_AFTER_MESSAGES
    cases = [
        (0, True), (1, True), (1, False), (9, True), (8, True), (7, True), (7, False),
        (lim, True), (lim - 1, True), (lim - 1, False), (lim - 2, True), (2, True), (2, False),
        (lim + 16, True), (3, False), (lim + 16, False), (lim * 4, True),
        (lim * 4 - (lim - 1), True), (10, False), (lim * 4 - lim, False),
        (lim * 4 - (lim + 1), False), (lim * 4 - (lim - 2), True), (lim * 4 + 1 - lim, False),
        (0, False), (last, False), (last - 1, True), (last, False), (last - 1, False),
        (last - 2, True), (last + 1, False), (last + 2, False), (last - 2, False),
        (last - 3, True), (0, False),
    ]  # fmt: skip
    window = ReplayWindow()
    assert [(c, window.accept(c)) for c, _ in cases] == cases


@pytest.mark.parametrize(
    "counters, then",
    [
        (range(1, WINDOW + 1), [(0, True), (0, False)]),
        (range(2, WINDOW + 2), [(1, True), (0, False)]),
        (range(WINDOW + 1, 0, -1), []),
        (range(WINDOW + 2, 1, -1), [(0, False)]),
        (range(WINDOW, 0, -1), [(WINDOW + 1, True), (0, False)]),
        (range(WINDOW, 0, -1), [(0, True), (WINDOW + 1, True)]),
    ],
)
def test_wireguards_bulk_cases(counters: range, then: list[tuple[int, bool]]) -> None:
    window = ReplayWindow()
    assert all(window.accept(c) for c in counters)
    assert [(c, window.accept(c)) for c, _ in then] == then


def _counters() -> st.SearchStrategy[int]:
    """Mostly near each other (so the window matters), with jumps and the limits."""
    return st.one_of(
        st.integers(0, 3 * WINDOW),
        st.integers(-2, 2**64 + 2),
        st.integers(REJECT_AFTER_MESSAGES - 3 * WINDOW, REJECT_AFTER_MESSAGES + 2),
    )


#: A counter drawn fresh, or (base, offset) for one near the highest accepted so far (base
#: 0), near the oldest the window still takes (-WINDOW), or a window's width ahead (WINDOW)
_STEPS = st.one_of(
    _counters(), st.tuples(st.sampled_from([-WINDOW, 0, WINDOW]), st.integers(-70, 70))
)


@settings(max_examples=examples(150))
@given(st.lists(_STEPS, max_size=120))
def test_accepts_exactly_what_the_model_does(steps: list[int | tuple[int, int]]) -> None:
    # The model: a counter is accepted once, if below the limit and at most WINDOW under
    # the highest accepted (0 before any)
    seen: set[int] = set()
    highest = 0
    window = ReplayWindow()
    for step in steps:
        if isinstance(step, tuple):
            base, offset = step
            counter = highest + base + offset
        else:
            counter = step
        expected = (
            0 <= counter < REJECT_AFTER_MESSAGES
            and counter not in seen
            and counter >= highest - WINDOW
        )
        assert window.accept(counter) == expected, counter
        if expected:
            seen.add(counter)
            highest = max(highest, counter)


def test_a_window_carries_no_instance_dict() -> None:
    # a registry keeps one per session: its slots alone, its base's included
    assert not hasattr(ReplayWindow(), "__dict__")
