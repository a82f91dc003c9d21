"""The DeskRunner's own rules, with a core that records what it is handed: events of an older
connection never reach the core, and the held-place actions go to the held-place file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from peer.adapter.desk.runner import (
    ClientEvent,
    DeskRunner,
    RunnerSettings,
    keep_place,
    load_place,
    place_file,
)
from peer.core.desk.link import (
    Action,
    ClientSettings,
    Connection,
    DeskLink,
    Emit,
    ExitDesk,
    FindPlace,
    KeepPlace,
    Show,
)
from tests.desk.person_harness import Screen
from wire.base import IdMaker
from wire.desk.messages import DeskNotice
from wire.messages import Ack

PHONE = "07700900606"


class Recorder:
    """A `DeskClient` that records each event it is handed; answers what the test puts in
    `answers`."""

    def __init__(self) -> None:
        self.link = DeskLink(("127.0.0.1", 4000), IdMaker("r"), ClientSettings())
        self.heard: list[tuple[str, object]] = []
        self.answers: list[Action] = []

    def _note(self, emit: Emit, event: str, detail: object = None) -> None:
        self.heard.append((event, detail))
        answers, self.answers = self.answers, []
        for action in answers:
            emit(action)

    def start(self, now: float, emit: Emit) -> None:
        self._note(emit, "start")

    def received(self, message: object, now: float, emit: Emit) -> None:
        self._note(emit, "received", message)

    def lost(self, reason: str, now: float, emit: Emit) -> None:
        self._note(emit, "lost", reason)

    def connected(self, now: float, emit: Emit) -> None:
        self._note(emit, "connected")

    def not_connected(self, why: str, now: float, emit: Emit) -> None:
        self._note(emit, "not_connected", why)

    def probed(self, why: str, now: float, emit: Emit) -> None:
        self._note(emit, "probed", why)

    def typed(self, text: str, now: float, emit: Emit, begun: float | None = None) -> None:
        self._note(emit, "typed", (text, begun))

    def end_of_input(self, now: float, emit: Emit) -> None:
        self._note(emit, "end_of_input")

    def place_found(self, kept: KeepPlace | None, now: float, emit: Emit) -> None:
        self._note(emit, "place_found", kept)

    def tick(self, now: float, emit: Emit) -> None:
        self._note(emit, "tick")

    def next_wake(self) -> float | None:
        return None


class Writer:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def runner(core: Recorder, places: Path | None = None) -> DeskRunner:
    return DeskRunner(core, RunnerSettings(client="test", places=places, screen=Screen()))


def test_events_of_an_older_connection_never_reach_the_core() -> None:
    async def scenario() -> tuple[Recorder, Writer]:
        core = Recorder()
        run = runner(core)
        run.carry_out(
            [Connection.DROP, Connection.DROP]
        )  # connection 2 is the current one; 1 is older
        stale = Writer()
        notice = DeskNotice("d", "hello")
        for event in (
            ClientEvent("arrived", gen=1, message=notice),
            ClientEvent("lost", "reset", gen=1),
            ClientEvent("failed", "refused", gen=1),
            ClientEvent("connected", gen=1, opened=(asyncio.StreamReader(), stale, None)),  # type: ignore[arg-type]
        ):
            assert run.handle(event, 0.0) == []
        run.handle(ClientEvent("arrived", gen=2, message=notice), 0.0)
        run.handle(
            ClientEvent("arrived", gen=2, message=Ack("a", "b")), 0.0
        )  # not a desk message: dropped
        run.handle(ClientEvent("lost", "reset", gen=2), 0.0)
        return core, stale

    core, stale = asyncio.run(scenario())
    assert core.heard == [("received", DeskNotice("d", "hello")), ("lost", "reset")]
    assert stale.closed  # a connection made for an older Connect is closed, not kept


def test_the_held_place_actions_go_to_the_file(tmp_path: Path) -> None:
    core = Recorder()
    run = runner(core, places=tmp_path)
    place = place_file(tmp_path, "127.0.0.1", 4000, PHONE)
    assert place is not None
    keep_place(place, KeepPlace("tok", 3, "Maths", 120.0))
    run.carry_out([FindPlace(PHONE)])
    assert core.heard == [("place_found", KeepPlace("tok", 3, "Maths", 120.0))]
    run.carry_out([KeepPlace("new", 5, "", 60.0)])
    assert load_place(place) == KeepPlace("new", 5, "", 60.0)
    run.carry_out([KeepPlace()])
    assert load_place(place) is None


def test_the_operators_runner_keeps_no_place(tmp_path: Path) -> None:
    core = Recorder()
    run = runner(core)  # no places directory
    run.carry_out([FindPlace(PHONE), KeepPlace("tok", 3, "", 120.0), KeepPlace()])
    assert core.heard == [("place_found", None)]
    assert not list(tmp_path.iterdir())


def test_a_line_goes_to_the_core_as_begun_and_an_exit_ends_the_actions() -> None:
    # when a line was begun decides whether it was meant for a person handed over since
    core = Recorder()
    run = runner(core)
    screen = run.term
    assert isinstance(screen, Screen)
    core.answers = [Show("answer"), ExitDesk(0), Show("never shown")]
    run.carry_out(run.handle(ClientEvent("typed", "hello", 3.0), 5.0))
    assert core.heard == [("typed", ("hello", 3.0))]
    assert screen.lines == ["answer"]
    core.answers = [Show("after the exit")]
    assert asyncio.run(run.run()) == 0  # the status the exit gave: it runs no more
    assert screen.lines == ["answer"]


def test_a_held_line_is_put_back_where_it_is_typed() -> None:
    run = runner(Recorder())
    screen = run.term
    assert isinstance(screen, Screen)
    run.carry_out([Show("thanks, bye", "typed")])
    assert screen.typed == "thanks, bye"


def test_a_probe_is_always_answered_even_for_an_address_the_system_cannot_try() -> None:
    # a person whose input has ended waits for the answer (peer.core.desk.person)
    async def scenario() -> ClientEvent:
        core = Recorder()
        core.link.ip = "a" * 300  # a name the system refuses to look up (not an OSError)
        run = runner(core)
        run.carry_out([Connection.PROBE])
        event = await asyncio.wait_for(run.events.get(), 5)
        assert event.what == "probed"
        return event

    assert "label too long" in asyncio.run(scenario()).text
