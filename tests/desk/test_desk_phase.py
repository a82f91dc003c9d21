"""The desk client's phases (peer/core/desk/link.py): every (phase, next) pair moves exactly
when MOVES lists it (or stays), every phase is reached from the start, and every one can end."""

from __future__ import annotations

import itertools

import pytest

from peer.core.desk.link import DEFAULTS, MOVES, DeskLink, DeskPhase
from peer.core.lifecycle import UndefinedMoveError
from wire.base import IdMaker

pytestmark = pytest.mark.timeout(10)


def _link_at(phase: DeskPhase) -> DeskLink:
    link = DeskLink(("127.0.0.1", 5000), IdMaker("p"), DEFAULTS)
    link.phase = phase  # (placed there: the moves from it are under test)
    return link


@pytest.mark.parametrize(
    ("start", "to"), list(itertools.product(DeskPhase, DeskPhase)), ids=lambda p: p.value
)
def test_a_move_is_made_exactly_when_listed(start: DeskPhase, to: DeskPhase) -> None:
    link = _link_at(start)
    if to in MOVES[start] or to is start:
        link.go(to)
        assert link.phase is to
    else:
        with pytest.raises(UndefinedMoveError, match=f"from {start.value} to {to.value}"):
            link.go(to)
        assert link.phase is start


def _reached_from(start: DeskPhase) -> set[DeskPhase]:
    seen, todo = {start}, [start]
    while todo:
        for after in MOVES[todo.pop()] - seen:
            seen.add(after)
            todo.append(after)
    return seen


def test_every_phase_is_reached_from_the_start_and_every_one_can_end() -> None:
    assert _reached_from(DeskPhase.NEW) == set(DeskPhase)
    assert all(DeskPhase.DONE in _reached_from(phase) for phase in DeskPhase)
    assert MOVES[DeskPhase.DONE] == frozenset()
