"""Whatever happens, in any order, the help-desk clients' cores stay sound: they never raise,
send only on a connection that is up, never ask for a connection while one is up, end at
most once (and are silent after), and never ask to be woken at a time already past, so the
runner cannot spin."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from peer.core.desk.duty import OperatorCore
from peer.core.desk.link import (
    Action,
    Connection,
    DeskClient,
    ExitDesk,
    FindPlace,
    KeepPlace,
    SendToDesk,
)
from peer.core.desk.person import PersonCore
from tests.desk.listed import Listed
from tests.hypothesis_profiles import examples
from wire.base import IdMaker
from wire.desk.messages import (
    EST_TYPICAL,
    DeskCrisis,
    DeskEnded,
    DeskLine,
    DeskMessage,
    DeskNotice,
    DeskOnDuty,
    DeskPing,
    DeskPong,
    DeskPosition,
    DeskQueued,
    DeskRefused,
    DeskServed,
    DeskSession,
    WaitEstimate,
)
from wire.desk.text import ALL_TOPICS, ENDED
from wire.refusals import RefusalCode

LINES = [
    "Maria",
    "07700 900606",
    "1",
    "3",
    "5",
    "9",
    "a problem",
    "",
    ".queue",
    ".quit",
    ".end",
    ".help",
    ".room",
    ".serve 1,3",
    ".x",
    "..dots",
    "hello",
    "x" * 600,
]
TO_PERSON: list[DeskMessage] = [
    DeskCrisis("d", "Call 116 123."),
    DeskQueued("d", "p", "tok", 5, 2, 1, 3, False, WaitEstimate(EST_TYPICAL, 0, 0)),
    DeskQueued("d", "p", "tok", 5, 0, 0, 120, True, WaitEstimate(EST_TYPICAL, 0, 0)),
    DeskPosition("d", "", 1, 0, 0, WaitEstimate(EST_TYPICAL, 0, 0)),
    DeskPosition("d", "", 1, 2, 0, WaitEstimate(EST_TYPICAL, 0, 0)),
    DeskPosition("d", "p", 2, 1, 30, WaitEstimate(EST_TYPICAL, 0, 0)),
    DeskServed("d", "ann", "s"),
    DeskLine("d", "ann", "hello", "s"),
    DeskEnded("d", "Take care.", False, -1),
    DeskEnded("d", "ann went off duty.", True, -1),
    DeskRefused("d", "p", "The waiting room is full."),
    DeskNotice("d", "The desk closes soon."),
    DeskPing("d"),
    DeskPong("d", "p-9"),
]
TO_OPERATOR: list[DeskMessage] = [
    DeskOnDuty("d", "o", "ann", ALL_TOPICS, 0, 0),
    DeskSession("d", "s", "Tom", "07700900606", 5, "", 3, "", ()),
    DeskLine("d", "Tom", "hi", "s"),
    DeskEnded("d", ENDED.format("Tom"), False, -1),
    DeskRefused(
        "d",
        "o",
        "Cannot go on duty: an operator named ann is already on duty.",
        RefusalCode.ALREADY_ON_DUTY,
    ),
    DeskRefused("d", "o", "Wrong operator key.", RefusalCode.OPERATOR_KEY),
    DeskNotice("d", "notice"),
    DeskPing("d"),
    DeskPong("d", "o-9"),
]


@dataclass
class World:
    """What the runner would know: whether a connection is up or asked for."""

    core: DeskClient
    now: float = 0.0
    up: bool = False
    asked: bool = False
    place_asked: bool = False
    ended: bool = False

    def apply(self, actions: list[Action]) -> None:
        assert not self.ended or actions == [], actions
        for index, action in enumerate(actions):
            if isinstance(action, SendToDesk):
                assert self.up, action
            elif action is Connection.OPEN:
                # a new connection, closing any other (see Connection): a person leaving while
                # the desk has not answered their rejoin gives the place up on a new one
                self.up = False
                self.asked = True
            elif action is Connection.DROP:
                assert self.up, action
                self.up = False
            elif isinstance(action, FindPlace):
                self.place_asked = True
            elif isinstance(action, ExitDesk):
                assert action.code in (0, 1)
                assert index == len(actions) - 1
                self.ended = True


def steps(world: World) -> list[str]:
    """What may happen next, as the runner would see it."""
    possible = ["type", "type", "end", "wait"]
    if world.asked:
        possible += ["connected", "not_connected"]
    if world.up:
        possible += ["receive", "receive", "lose"]
    if world.place_asked:
        possible.append("place")
    return possible


def play(world: World, data: st.DataObject, messages: list[DeskMessage]) -> None:
    core = world.core
    world.apply(core.start(world.now))
    for _ in range(data.draw(st.integers(5, 80))):
        step = data.draw(st.sampled_from(steps(world)))
        if step == "type":
            world.apply(core.typed(data.draw(st.sampled_from(LINES)), world.now))
        elif step == "end":
            world.apply(core.end_of_input(world.now))
        elif step == "connected":
            world.asked, world.up = False, True
            world.apply(core.connected(world.now))
        elif step == "not_connected":
            world.asked = False
            world.apply(core.not_connected("refused", world.now))
        elif step == "receive":
            world.apply(core.received(data.draw(st.sampled_from(messages)), world.now))
        elif step == "lose":
            world.up = False
            world.apply(core.lost("reset", world.now))
        elif step == "wait":
            wake = core.next_wake()
            world.now = wake if wake is not None else world.now + data.draw(st.floats(0.1, 10))
            world.apply(core.tick(world.now))
            after = core.next_wake()
            assert after is None or after > world.now, (after, world.now)
        elif step == "place":
            world.place_asked = False
            kept = data.draw(st.sampled_from([None, KeepPlace("old", 2, "", 120.0)]))
            world.apply(core.place_found(kept, world.now))
        if world.ended:
            assert core.typed("more", world.now) == []
            assert core.tick(world.now + 100) == []
            assert core.next_wake() is None
            return


@settings(max_examples=examples(150), deadline=None)
@given(st.data())
def test_the_person_core_stays_sound(data: st.DataObject) -> None:
    core = Listed(PersonCore(("127.0.0.1", 4000), IdMaker("p")))
    play(World(core), data, TO_PERSON)


@settings(max_examples=examples(150), deadline=None)
@given(st.data())
def test_the_operator_core_stays_sound(data: st.DataObject) -> None:
    core = Listed(OperatorCore("ann", ("127.0.0.1", 4000), "key", IdMaker("o")))
    play(World(core), data, TO_OPERATOR)
