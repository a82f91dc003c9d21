"""The requests the registry answered Busy: when each goes again, and for how long the
registry's silence is waited out."""

from __future__ import annotations

from peer.core.retry_wait import (
    BUSY_PATIENCE,
    SILENT_WAIT_FIRST,
    SILENT_WAIT_LAST,
    BusyWaits,
    silent_wait,
)

T0 = 1000.0


def test_a_request_told_to_wait_goes_again_when_its_wait_is_over() -> None:
    waits: BusyWaits[str] = BusyWaits()
    waits.wait("a-1", "register", T0 + 2, waits.since("a-1", T0))
    assert waits.next_wake() == T0 + 2
    assert list(waits.over(T0 + 1.9)) == []
    assert list(waits.over(T0 + 2)) == ["register"] and waits.next_wake() is None


def test_the_first_busy_counts_until_patience_runs_out_or_it_is_forgotten() -> None:
    waits: BusyWaits[str] = BusyWaits()
    assert not waits.patient("a-1", T0) and not waits.exhausted("a-1", T0)
    waits.wait("a-1", "register", T0 + 1, T0)
    waits.wait("a-1", "register", T0 + 30, waits.since("a-1", T0 + 29))  # a second Busy
    assert waits.since("a-1", T0 + 29) == T0
    assert waits.patient("a-1", T0 + BUSY_PATIENCE - 0.1)
    assert waits.exhausted("a-1", T0 + BUSY_PATIENCE) and not waits.patient(
        "a-1", T0 + BUSY_PATIENCE
    )
    waits.forget("a-1")
    assert not waits.patient("a-1", T0 + 1) and not waits.exhausted("a-1", T0 + BUSY_PATIENCE)


def test_silent_waits_double_up_to_the_last_each_between_half_and_all_of_it() -> None:
    for msg_id in ("a-1", "b-1", "c-7"):
        for waits in range(8):
            full = min(SILENT_WAIT_FIRST * 2**waits, SILENT_WAIT_LAST)
            assert full / 2 <= silent_wait(msg_id, waits) <= full
    # peers started together spread their next tries
    assert len({round(silent_wait(f"p{i}-1", 3), 3) for i in range(50)}) > 40


def test_a_request_silent_for_its_rounds_waits_ever_longer_until_its_patience_is_over() -> None:
    waits: BusyWaits[str] = BusyWaits()
    now, dues = T0, []
    while (due := waits.after_silence("a-1", "register", now, 60.0)) is not None:
        assert list(waits.over(due)) == ["register"]
        dues.append(due - now)
        now = due + 2.5  # its next round, as silent
    assert now - T0 >= 60.0 and len(dues) >= 4
    assert dues == sorted(dues) and dues[-1] <= SILENT_WAIT_LAST
    # given up: the next silent round starts a new patience
    assert waits.after_silence("a-1", "register", now, 60.0) is not None


def test_a_request_answered_while_it_waits_is_taken_and_its_silence_forgotten() -> None:
    waits: BusyWaits[str] = BusyWaits()
    first = T0
    assert waits.after_silence("a-1", "register", first, 60.0) is not None
    assert waits.stop_waiting("a-1") == "register" and waits.next_wake() is None
    assert waits.stop_waiting("a-1") is None
    # silent again later: its patience counts afresh
    assert waits.after_silence("a-1", "register", first + 100, 60.0) is not None
