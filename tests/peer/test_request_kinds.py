"""The table of request kinds, and a request's life: its transition table tried over every
(stage, step) pair, and a state machine checking that a request always is in a stage."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peer.core import actions as pa
from peer.core.lifecycle import UndefinedMoveError
from peer.core.request_kinds import (
    KEPT,
    KINDS,
    LIFE,
    TYPING_WAITS,
    RequestRecord,
    Stage,
    Step,
)
from registry.core import dispatch as registry_dispatch
from tests.hypothesis_profiles import examples
from tests.peer.parts_kit import T0, shared
from wire.messages import Join, Message, RoomsRequest, TableRequest

S, T = Stage, Step
ENDS = {S.ANSWERED, S.GIVEN_UP}


@pytest.mark.timeout(10)
@pytest.mark.parametrize(("stage", "step"), list(itertools.product(Stage, Step)))
def test_every_pair_moves_to_a_stage_or_raises(stage: Stage, step: Step) -> None:
    request = RequestRecord(RoomsRequest("r-1"), stage=stage)
    after = LIFE[stage].get(step)
    if after is None:
        with pytest.raises(UndefinedMoveError):
            request.to(step)
        assert request.stage is stage  # nothing changed
    else:
        assert request.to(step).stage is after


@pytest.mark.timeout(10)
def test_every_stage_is_reached_from_new_and_every_one_can_end() -> None:
    assert set(LIFE) == set(Stage)
    reached, todo = {S.NEW}, [S.NEW]
    while todo:
        for target in LIFE[todo.pop()].values():
            if target not in reached:
                reached.add(target)
                todo.append(target)
    assert reached == set(Stage)
    for stage in set(Stage) - {S.NEW, S.PACED}:
        # answered, or given up, in one step or after it is sent
        ends = set(LIFE[stage].values()) | set(LIFE[LIFE[stage].get(T.SEND, stage)].values())
        assert ends & ENDS, stage


@pytest.mark.timeout(10)
@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.sampled_from(Step), max_size=30))
def test_any_steps_leave_a_request_in_a_stage_the_table_allows(steps: list[Step]) -> None:
    request = RequestRecord(RoomsRequest("r-1"))
    for step in steps:
        before = request.stage
        try:
            request.to(step)
        except UndefinedMoveError:
            assert step not in LIFE[before] and request.stage is before
        else:
            assert request.stage is LIFE[before][step]


@pytest.mark.timeout(10)
def test_the_kinds_the_peer_keeps_are_those_the_registry_holds_back() -> None:
    # a kept message is sent again after a restart: the registry holds it behind its news
    assert set(KEPT) == set(registry_dispatch.SENT_AGAIN)
    assert TYPING_WAITS[-1].__name__ == "Register"  # (dropped while a `reg` goes on)
    assert all(kind.in_order for kind in map(KINDS.get, KEPT) if kind is not None)


@pytest.mark.timeout(10)
def test_a_request_moves_through_busy_and_a_new_round_to_its_answer() -> None:
    made, out = shared(), list[pa.Action]()
    join = Join("a-1", "alice", "tok", "lobby")
    made.requests.send(join, T0, out.append)
    request, first = made.requests.busy(join.id, 2.0, T0)
    assert first and request is not None and request.stage is S.BUSY_WAIT
    assert [r.stage for r in made.requests.busy_over(T0 + 2)] == [S.SENT]
    answered = made.requests.answer_came(join.id, T0 + 2.1)
    assert answered is request and request.stage is S.ANSWERED


@pytest.mark.timeout(10)
def test_a_whole_table_is_streamed_and_a_lost_one_given_up() -> None:
    made, out = shared(), list[pa.Action]()
    ask: Message = TableRequest("t-1")
    made.requests.send(ask, T0, out.append)
    assert isinstance(out[-1], pa.SendSealed) and out[-1].stream
    made.requests.ended(ask.id, T0 + 1)  # unanswered: more rounds, as datagrams, then given up
    stages = []
    for n in range(1, 40):
        again, failed = made.requests.due(T0 + n)
        stages += [r.stage for r in again + failed]
        if failed:
            break
    assert stages[0] is S.SENT and stages[-1] is S.GIVEN_UP
    assert made.requests.answer_came(ask.id, T0 + 50) is None  # no longer waited for
