"""The desk clients of a service of several registries (DeskRegistries): sent on to the
registry that runs the desk without a word, and trying the service's registries in turn
when theirs cannot be reached."""

from __future__ import annotations

from person_harness import person, queued, sent, shown, through_form, waiting

from peer.core.desk.duty import OperatorCore
from peer.core.desk.link import ClientSettings, Connection, DeskPhase
from tests.desk.listed import Listed
from wire.base import IdMaker
from wire.desk.messages import DeskJoin, DeskOnDuty, DeskOperator, DeskRegistries
from wire.desk.text import ALL_TOPICS

HERE, DESK, THIRD = ("127.0.0.1", 4000), ("127.0.0.1", 4001), ("127.0.0.1", 4002)
SERVICE = ("127.0.0.1:4000", "127.0.0.1:4001", "127.0.0.1:4002")


def sent_on(desk: tuple[str, int] | None = DESK) -> DeskRegistries:
    where = f"{desk[0]}:{desk[1]}" if desk else ""
    return DeskRegistries("r", where, SERVICE)


def operator_lost(service: tuple[str, ...]) -> OperatorCore:
    """ann on duty at HERE (of `service`, when given), her connection lost at 1.0."""
    core = Listed(OperatorCore("ann", HERE, "key", IdMaker("o"), ClientSettings(leave_timeout=2.0)))
    core.start(0.0)
    core.connected(0.0)
    if service:
        core.received(DeskRegistries("r", "", service), 0.0)
    core.received(DeskOnDuty("d", "o-1", "ann", ALL_TOPICS, 0, 0), 0.0)
    core.lost("reset", 1.0)
    return core


def waits_while_refused(core: OperatorCore, rounds: int) -> list[float]:
    """The waits before each of `rounds` rounds, every registry refusing each time."""
    now, waits = 1.0, []
    for _ in range(rounds):
        wake = core.next_wake()
        assert wake is not None
        waits.append(round(wake - now, 3))
        now = wake
        assert core.tick(now) == [Connection.OPEN]
        while core.not_connected("refused", now) == [Connection.OPEN]:
            pass  # the next registry of the round, at once
    return waits


def test_a_person_sent_on_joins_at_the_desk_saying_nothing() -> None:
    core = person()
    through_form(core)
    core.connected(0.0)
    out = core.received(sent_on(), 0.0)
    assert out == [Connection.OPEN]
    assert (core.link.ip, core.link.port) == DESK
    assert core.link.registries == (HERE, DESK, THIRD)
    [join] = sent(core.connected(0.1))
    assert isinstance(join, DeskJoin)
    assert shown(core.received(queued(), 0.2))[0].startswith("[You are in the waiting room")


def test_the_desks_own_list_moves_nobody() -> None:
    core = waiting()
    assert core.received(sent_on(None), 1.0) == []
    assert (core.link.ip, core.link.port) == HERE and core.link.phase is DeskPhase.WAITING


def test_a_person_reconnecting_tries_each_registry_then_waits() -> None:
    core = waiting()
    core.received(sent_on(None), 0.0)
    core.lost("reset", 1.0)
    assert core.tick(1.5) == [Connection.OPEN]
    # refused here: the next registry at once, then the third, then a wait
    assert core.not_connected("refused", 1.5) == [Connection.OPEN]
    assert (core.link.ip, core.link.port) == DESK
    assert core.not_connected("refused", 1.5) == [Connection.OPEN]
    assert (core.link.ip, core.link.port) == THIRD
    assert core.not_connected("refused", 1.5) == []
    assert core.next_wake() == 2.5 and (core.link.ip, core.link.port) == HERE


def test_a_registry_that_sends_on_to_one_that_stopped_keeps_the_rounds_short() -> None:
    core = waiting()
    core.received(sent_on(None), 0.0)
    core.lost("reset", 1.0)
    for start in (1.5, 2.0, 2.5):  # the first wait again, each time the service answers
        assert core.tick(start) == [Connection.OPEN]
        assert (core.link.ip, core.link.port) == HERE
        assert core.not_connected("refused", start) == [Connection.OPEN]  # DESK
        core.connected(start)
        assert core.received(sent_on(HERE), start) == [Connection.OPEN]  # (a stale answer)
        assert core.not_connected("refused", start) == [Connection.OPEN]  # HERE, tried
        assert core.not_connected("refused", start) == []  # THIRD: the round is over
        assert core.next_wake() == start + 0.5
        core.link.ip, core.link.port = HERE


def test_an_operator_sent_on_goes_on_duty_at_the_desk() -> None:
    core = Listed(OperatorCore("ann", HERE, "key", IdMaker("o"), ClientSettings(leave_timeout=2.0)))
    core.start(0.0)
    core.connected(0.0)
    assert core.received(sent_on(), 0.0) == [Connection.OPEN]
    assert any(isinstance(m, DeskOperator) for m in sent(core.connected(0.1)))
    core.received(DeskOnDuty("d", "o-2", "ann", ALL_TOPICS, 0, 0), 0.2)
    assert core.on_duty and (core.link.ip, core.link.port) == DESK


def test_an_operator_reconnecting_tries_the_next_registry() -> None:
    core = operator_lost(SERVICE)
    assert core.tick(1.5) == [Connection.OPEN]
    assert core.not_connected("refused", 1.5) == [Connection.OPEN]
    assert (core.link.ip, core.link.port) == DESK


def test_a_registry_on_its_own_is_tried_again_as_before() -> None:
    core = waiting()
    core.lost("reset", 1.0)
    assert core.tick(1.5) == [Connection.OPEN]
    assert core.not_connected("refused", 1.5) == []
    assert core.next_wake() == 2.5 and (core.link.ip, core.link.port) == HERE


def test_a_registry_taking_the_desk_over_has_the_client_ask_it_again() -> None:
    core = waiting()
    core.lost("reset", 1.0)
    core.tick(1.5)
    core.connected(1.5)
    taking_over = DeskRegistries("r", "127.0.0.1:4000", ())  # "the desk: here"
    assert core.received(taking_over, 1.6) == [Connection.OPEN]
    assert (core.link.ip, core.link.port) == HERE and core.link.phase is DeskPhase.RECONNECTING
    assert shown(core.not_connected("refused", 1.6)) == []  # (not listening yet)
    assert core.next_wake() == 2.1  # the first wait again: the service answers


def test_an_operator_of_a_service_tries_its_registries_at_least_every_second() -> None:
    core = operator_lost(SERVICE)
    # the whole service refuses: one is taking the desk over
    assert waits_while_refused(core, 6) == [0.5, 1.0, 1.0, 1.0, 1.0, 1.0]


def test_an_operator_of_a_lone_registry_waits_longer_each_time() -> None:
    core = operator_lost(())
    assert waits_while_refused(core, 5) == [0.5, 1.0, 2.0, 4.0, 4.0]
