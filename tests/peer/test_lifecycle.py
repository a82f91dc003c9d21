"""The peer's lifecycle: its transition table, the flags each phase stands for, and a
state machine that checks the table against the rule each event follows."""

from __future__ import annotations

from typing import NamedTuple

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from peer.core.lifecycle import TRANSITIONS, Event, Lifecycle, LifePhase, UndefinedMoveError

P, E = LifePhase, Event


def _at(*events: Event, farewell: str = "") -> Lifecycle:
    life = Lifecycle()
    for event in events:
        life.fire(event, farewell)
    return life


def test_the_table_has_every_phase_and_leads_only_to_phases() -> None:
    assert set(TRANSITIONS) == set(LifePhase)
    for moves in TRANSITIONS.values():
        assert all(isinstance(e, Event) and isinstance(p, LifePhase) for e, p in moves.items())


def test_every_phase_is_reached_from_the_start_and_can_be_left_at_once() -> None:
    reached, todo = {P.STARTING}, [P.STARTING]
    while todo:
        for target in TRANSITIONS[todo.pop()].values():
            if target not in reached:
                reached.add(target)
                todo.append(target)
    assert reached == set(LifePhase)
    assert all(TRANSITIONS[phase][E.LEAVE_NOW] is P.LEFT for phase in LifePhase)


@pytest.mark.parametrize(
    ("phase", "started", "registered", "going", "for_good"),
    [
        (P.STARTING, False, False, False, False),
        (P.STARTING_LATE, False, False, False, False),
        (P.START_FAILED, False, False, False, False),
        (P.REGISTERED, True, True, False, False),
        (P.OFFLINE, True, False, False, False),
        (P.QUITTING, True, True, True, False),
        (P.QUITTING_OFFLINE, True, False, True, False),
        (P.LEAVING, True, True, True, True),
        (P.GONE, True, False, True, True),
        (P.REPLACED, True, False, True, True),
        (P.LEFT, True, False, True, True),
    ],
)
def test_each_phase_stands_for_its_flags(
    phase: LifePhase, started: bool, registered: bool, going: bool, for_good: bool
) -> None:
    life = Lifecycle(phase)
    assert (life.started, life.registered, life.going, life.for_good) == (
        started,
        registered,
        going,
        for_good,
    )


def test_a_start_registers_quits_and_is_gone() -> None:
    life = _at(E.WELCOME)
    assert life.phase is P.REGISTERED
    assert life.fire(E.QUIT, "bye") is P.QUITTING and life.farewell == "bye"
    assert life.fire(E.DELIVERED) is P.LEAVING and life.farewell is None
    assert life.fire(E.DEREGISTERED) is P.GONE


def test_a_late_first_registration_is_still_a_start() -> None:
    life = _at(E.REGISTER_RESENT, E.REGISTER_RESENT)
    assert life.phase is P.STARTING_LATE and not life.started
    assert life.fire(E.START_FAILED) is P.START_FAILED


def test_a_second_quit_keeps_the_farewell_unless_it_has_one() -> None:
    life = _at(E.WELCOME, E.QUIT, farewell="first")
    life.fire(E.QUIT, "")
    assert life.farewell == "first"
    life.fire(E.QUIT, "second")
    assert life.farewell == "second"


def test_offline_and_back() -> None:
    for event in (E.DEREGISTERED, E.REFUSED, E.RELEASED):
        life = _at(E.WELCOME, event)
        assert life.phase is P.OFFLINE and life.started and not life.registered
        assert life.fire(E.WELCOME) is P.REGISTERED


def test_a_quit_that_loses_its_registration_exits_once_delivered() -> None:
    life = _at(E.WELCOME, E.QUIT, E.RELEASED)
    assert life.phase is P.QUITTING_OFFLINE and life.farewell == ""
    assert life.fire(E.DELIVERED) is P.GONE


def test_replaced_drops_the_farewell_and_stays_replaced() -> None:
    life = _at(E.WELCOME, E.QUIT, farewell="bye")
    assert life.fire(E.REPLACED) is P.REPLACED and life.farewell is None
    assert life.fire(E.WELCOME) is P.REPLACED and not life.registered


@pytest.mark.parametrize(
    ("events", "event"),
    [
        ((), E.QUIT),  # the core quits before the first Welcome by exiting
        ((), E.DELIVERED),
        ((E.WELCOME,), E.START_FAILED),
        ((E.WELCOME, E.DEREGISTERED), E.QUIT),  # offline: the core exits at once
        ((E.START_FAILED,), E.WELCOME),
        ((E.WELCOME, E.REPLACED), E.REPLACED),  # said once: the core checks first
        ((E.LEAVE_NOW,), E.WELCOME),
    ],
)
def test_an_undefined_event_raises_and_changes_nothing(
    events: tuple[Event, ...], event: Event
) -> None:
    life = _at(*events)
    before = (life.phase, life.farewell)
    assert event not in TRANSITIONS[life.phase]
    with pytest.raises(UndefinedMoveError):
        life.fire(event)
    assert (life.phase, life.farewell) == before


class Flags(NamedTuple):
    """What a phase stands for, flag by flag: each event sets some of them by its own rule."""

    started: bool = False
    registered: bool = False
    farewell: str | None = None
    quitting: bool = False
    replaced: bool = False
    left: bool = False


def _by_rule(flags: Flags, event: Event, farewell: str = "") -> Flags:
    """What `event` does to the flags, by its rule alone (whatever the phase)."""
    match event:
        case E.WELCOME:
            return flags._replace(started=True, registered=True)
        case E.DEREGISTERED | E.REFUSED | E.RELEASED:
            return flags._replace(registered=False)
        case E.QUIT if flags.farewell is None or farewell:
            return flags._replace(farewell=farewell)
        case E.DELIVERED:
            return flags._replace(farewell=None, quitting=True)
        case E.REPLACED:
            return Flags(flags.started, False, None, True, True, flags.left)
        case E.LEAVE_NOW:
            return flags._replace(quitting=True, left=True)
        case _:
            return flags


def _fired_by_the_core(flags: Flags, event: Event) -> bool:
    """Whether the core fires `event` with these flags: a quit waits only when registered;
    a quit waiting is delivered only when there is one."""
    if event is E.QUIT:
        return flags.registered
    if event is E.DELIVERED:
        return flags.farewell is not None
    return True


def _agree(life: Lifecycle, flags: Flags) -> None:
    """The phase stands for the flags. After a replacement or leaving at once the peer is
    exiting and answers nothing: it counts as unregistered there."""
    assert life.farewell == flags.farewell
    assert life.going == (flags.farewell is not None or flags.quitting)
    assert life.for_good == flags.quitting
    if flags.replaced or flags.left:
        assert not life.registered
    else:
        assert (life.started, life.registered) == (flags.started, flags.registered)


def test_every_event_from_every_reachable_phase_agrees_with_the_rule_of_each_flag() -> None:
    seen: set[tuple[LifePhase, Flags]] = set()
    todo = [(Lifecycle(), Flags())]
    while todo:
        life, flags = todo.pop()
        for event in Event:
            for farewell in ("", "bye"):
                if event not in TRANSITIONS[life.phase] or not _fired_by_the_core(flags, event):
                    continue
                after = Lifecycle(life.phase)
                after.farewell = life.farewell
                after.fire(event, farewell)
                now = _by_rule(flags, event, farewell)
                _agree(after, now)
                if (after.phase, now) not in seen:
                    seen.add((after.phase, now))
                    todo.append((after, now))
    assert {P.STARTING} | {phase for phase, _ in seen} == set(LifePhase)


class FlagsModel(RuleBasedStateMachine):
    """Random runs of events against the rule of each flag (see `_by_rule`): whenever
    the table defines an event, the phase reached stands for the flags; when it does not,
    the event raises and changes nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.life = Lifecycle()
        self.flags = Flags()

    @rule(event=st.sampled_from(list(Event)), farewell=st.sampled_from(["", "bye", "later"]))
    def fire(self, event: Event, farewell: str) -> None:
        if not _fired_by_the_core(self.flags, event):
            return
        before = (self.life.phase, self.life.farewell)
        if event not in TRANSITIONS[self.life.phase]:
            with pytest.raises(UndefinedMoveError):
                self.life.fire(event, farewell)
            assert (self.life.phase, self.life.farewell) == before
            return
        self.life.fire(event, farewell)
        self.flags = _by_rule(self.flags, event, farewell)

    @invariant()
    def the_phase_stands_for_the_flags(self) -> None:
        _agree(self.life, self.flags)

    @invariant()
    def a_registered_peer_has_started(self) -> None:
        assert self.life.started or not self.life.registered


TestFlagsModel = FlagsModel.TestCase
TestFlagsModel.settings = settings(stateful_step_count=30, deadline=None)
