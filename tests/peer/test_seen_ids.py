"""SeenIds alone: each (sender, id) is new once, and only the last `limit` are kept."""

from __future__ import annotations

from peer.core.actions import Action, Shown
from peer.core.seen_ids import SeenIds


def test_a_first_sight_is_recorded_and_a_second_is_not_new() -> None:
    seen, out = SeenIds(), list[Action]()
    assert seen.first_sight("Bob", "b-1", out.append)
    assert out == [Shown("bob", "b-1")]  # the sender as its key: names ignore case
    assert not seen.first_sight("BOB", "b-1", out.append)
    assert out == [Shown("bob", "b-1")]


def test_the_ids_of_earlier_runs_are_not_new() -> None:
    seen, out = SeenIds([("Bob", "b-1")]), list[Action]()
    assert not seen.first_sight("bob", "b-1", out.append)
    assert seen.first_sight("bob", "b-2", out.append)


def test_only_the_last_limit_ids_are_remembered() -> None:
    seen, out = SeenIds([("bob", "b-1"), ("bob", "b-2")], limit=2), list[Action]()
    assert seen.first_sight("bob", "b-3", out.append)  # pushes out the oldest, b-1
    assert not seen.first_sight("bob", "b-2", out.append)
    assert seen.first_sight("bob", "b-1", out.append)
