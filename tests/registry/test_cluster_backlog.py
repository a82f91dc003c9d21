"""How far behind the registry that decides is in what the other registries hand it
(registry.adapter.cluster.link.queued_since): as a socket's `behind`, from when it last found
nothing queued."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from registry.adapter.cluster.link import queued_since
from registry.core.registration import BUSY_AFTER


class Backlog:
    """The registry's use of queued_since: how far behind, each Inbound taken."""

    def __init__(self) -> None:
        self.since: float | None = None

    def taken(self, queued: int, now: float) -> float:
        self.since = queued_since(self.since, queued, now)
        return 0.0 if self.since is None else now - self.since


def test_a_queue_never_emptied_counts_from_when_it_was_last_empty() -> None:
    backlog = Backlog()
    assert backlog.taken(0, 10.0) == 0.0
    assert backlog.taken(40, 10.5) == 0.0  # a storm begins: more queued from now on
    assert backlog.taken(300, 11.0) == 0.5
    assert backlog.taken(200, 10.5 + BUSY_AFTER) >= BUSY_AFTER  # registrations asked to wait
    assert backlog.taken(0, 14.0) == 0.0  # caught up
    assert backlog.taken(3, 14.1) == 0.0


@given(st.lists(st.tuples(st.integers(0, 5), st.floats(0, 1)), max_size=50))
def test_behind_never_exceeds_the_time_since_nothing_was_queued(
    steps: list[tuple[int, float]],
) -> None:
    backlog, now, empty_at = Backlog(), 0.0, 0.0
    for queued, step in steps:
        now += step
        behind = backlog.taken(queued, now)
        assert 0.0 <= behind <= now - empty_at
        if not queued:
            empty_at = now
            assert behind == 0.0
