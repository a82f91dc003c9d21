"""Connections that end together are dealt with together (docs/DESK.md, "Connections that
end together"): while `DeskState.holding` the core hands nobody over, so that the first
end read after a resumed registry cannot give a waiting person to an operator whose end is
read next, nor an operator a person already gone."""

from __future__ import annotations

from desk_harness import Desk

from registry.core.desk.actions import SessionStarted
from registry.core.desk.sessions import NOBODY_WAITING
from wire.desk.messages import (
    DeskEnded,
    DeskNotice,
    DeskPosition,
    DeskQueued,
    DeskServed,
    DeskSession,
)


def ann_serving_dan_carol_waiting() -> Desk:
    desk = Desk()
    desk.operator("ann", "ann")
    desk.join("dan", "Dan")
    desk.join("carol", "Carol")
    assert desk.last("ann", DeskSession).name == "Dan"
    assert desk.last("carol", DeskQueued).position == 1
    desk.take("ann")
    desk.take("carol")
    return desk


def started_for(desk: Desk, name: str) -> list[SessionStarted]:
    return [r for r in desk.records if isinstance(r, SessionStarted) and r.told.name == name]


def test_a_person_is_not_handed_to_an_operator_whose_end_is_read_next() -> None:
    desk = ann_serving_dan_carol_waiting()
    desk.queue.state.holding = True
    desk.drop("dan")  # read first: ann is free, but its own end is next
    desk.drop("ann")
    assert not desk.of("carol", DeskServed) and not desk.of("ann", DeskSession)
    # nor a position counting ann, on duty halfway through the batch
    assert not desk.of("carol", DeskPosition)
    desk.apply(desk.queue.end_hold(desk.now))
    assert not desk.of("carol", DeskServed)
    assert not started_for(desk, "Carol")
    assert not any("ann serves Carol" in line for line in desk.logs)
    desk.advance(1.0)  # positions are pushed at most once a second
    # what Carol reads is true: Dan's place is held at the front, and nobody is on duty
    assert desk.last("carol", DeskPosition).position == 2
    assert desk.last("carol", DeskPosition).operators == 0


def test_an_operator_still_there_takes_the_next_person_at_release() -> None:
    desk = ann_serving_dan_carol_waiting()
    desk.queue.state.holding = True
    desk.drop("dan")
    assert not desk.of("carol", DeskServed), "nobody is handed over while holding"
    desk.apply(desk.queue.end_hold(desk.now))
    assert desk.last("carol", DeskServed).operator == "ann"
    assert desk.last("ann", DeskSession).name == "Carol"


def test_an_operator_is_not_handed_a_person_whose_end_is_read_next() -> None:
    desk = ann_serving_dan_carol_waiting()
    desk.queue.state.holding = True
    desk.end("ann")  # its .end, read with Carol's end just behind it
    desk.drop("carol")
    desk.apply(desk.queue.end_hold(desk.now))
    assert not desk.of("ann", DeskSession)
    assert [m.text for m in desk.of("ann", DeskNotice)] == [NOBODY_WAITING]
    assert not started_for(desk, "Carol")
    assert desk.queue.state.waiting[0].conn is None  # Carol's place is held, as for any lost one


def test_an_operator_freed_by_an_end_is_not_handed_a_person_whose_end_is_read_next() -> None:
    desk = ann_serving_dan_carol_waiting()
    desk.queue.state.holding = True
    desk.drop("dan")  # ann is free, and Carol waits first...
    desk.drop("carol")  # ...but left at the same moment
    desk.apply(desk.queue.end_hold(desk.now))
    # ann would have been shown Carol's full number, for a session that never was
    assert not desk.of("ann", DeskSession)
    assert not started_for(desk, "Carol")
    assert [p.conn for p in desk.queue.state.waiting] == [None, None]  # both places held


def test_an_end_while_holding_that_finds_someone_at_release_says_nothing_of_nobody() -> None:
    desk = ann_serving_dan_carol_waiting()
    desk.queue.state.holding = True
    desk.end("ann")
    desk.apply(desk.queue.end_hold(desk.now))
    assert desk.last("ann", DeskSession).name == "Carol"
    assert not desk.of("ann", DeskNotice)


def test_a_join_while_holding_waits_its_turn_and_is_served_at_release() -> None:
    desk = Desk()
    desk.operator("ann", "ann")
    desk.queue.state.holding = True
    desk.queue.state.holding = True  # holding twice is holding once
    desk.join("carol", "Carol")
    assert not desk.inbox["carol"], "answered at the release, with the figures then"
    desk.advance(5.0)  # the timer hands nobody over either
    assert not desk.of("carol", DeskServed)
    desk.apply(desk.queue.end_hold(desk.now))
    # the join is answered first, as when an operator is free at once: position 0
    queued, served = desk.inbox["carol"]
    assert isinstance(queued, DeskQueued) and queued.position == 0
    assert isinstance(served, DeskServed) and served.operator == "ann"
    assert desk.queue.end_hold(desk.now) == []  # released once


def test_a_join_read_with_the_end_of_the_only_operator_is_told_nobody_is_on_duty() -> None:
    """Its answer waits for the release: figured at once, it counted ann, whose end was
    read next in the same batch (`1 operator`, an estimate), and the truth came a second
    later."""
    desk = ann_serving_dan_carol_waiting()
    desk.queue.state.holding = True
    desk.join("eve", "Eve")
    desk.drop("ann")
    assert not desk.of("eve", DeskQueued)
    desk.apply(desk.queue.end_hold(desk.now))
    queued = desk.last("eve", DeskQueued)
    assert (queued.position, queued.operators) == (3, 0)  # Dan put back first, then Carol
    desk.advance(2.0)
    assert not desk.of("eve", DeskPosition), "nothing to correct"


def test_a_place_taken_back_while_holding_is_answered_at_release() -> None:
    desk = ann_serving_dan_carol_waiting()
    [carol] = desk.queue.state.waiting
    token = carol.token
    desk.queue.state.holding = True
    desk.drop("carol")
    desk.join("carol2", "Carol", token=token)  # her client, back at once
    desk.join("eve", "Eve")
    desk.leave("eve")  # left before the release: nothing to answer
    assert not desk.of("carol2", DeskQueued)
    desk.apply(desk.queue.end_hold(desk.now))
    queued = desk.last("carol2", DeskQueued)
    assert queued.restored and queued.position == 1 and queued.operators == 1
    assert not desk.of("eve", DeskQueued)


def test_a_person_put_back_by_an_operators_end_is_not_handed_to_another_one_gone() -> None:
    desk = Desk()
    desk.operator("ann", "ann")
    desk.join("dan", "Dan")
    desk.advance(1.0)
    desk.operator("bob", "bob")
    desk.join("eve", "Eve")
    assert desk.last("bob", DeskSession).name == "Eve"
    desk.queue.state.holding = True
    desk.drop("eve")  # bob is free...
    desk.drop("ann")  # ...when Dan is put back at the front...
    desk.drop("bob")  # ...but bob is gone too
    assert desk.last("dan", DeskEnded).requeued
    desk.apply(desk.queue.end_hold(desk.now))
    assert not desk.of("bob", DeskSession)[1:]
    assert [s.operator for s in started_for(desk, "Dan")] == ["ann"]
    # Dan joined before Eve, whose place is held: he is first, and nobody is on duty; told
    # so at once (the answer waited for the release), not corrected a second later
    assert desk.last("dan", DeskQueued).position == 1
    assert desk.last("dan", DeskQueued).operators == 0
    desk.advance(1.0)
    assert not desk.of("dan", DeskPosition)
