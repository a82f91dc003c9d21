"""The requests the registry answered Busy: when each goes again, and for how long the
registry's silence is waited out."""

from __future__ import annotations

from peer.core.busy_waits import BUSY_PATIENCE, BusyWaits

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
