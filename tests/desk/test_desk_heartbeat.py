"""The help desk's heartbeat on a fake clock: a connection that stops answering (a process
stopped with SIGSTOP keeps its TCP connection open) is taken as lost, on the registry's
side and on the clients'."""

from __future__ import annotations

from desk_harness import Desk

from peer.core.desk.duty import OperatorCore, cut_short
from peer.core.desk.link import Connection, DeskPhase
from registry.core.desk.actions import DeskSend
from registry.core.desk.limits import GRACE
from tests.desk.listed import Listed
from tests.desk.person_harness import sent, shown, waiting
from wire.base import IdMaker
from wire.desk.messages import (
    HEARTBEAT,
    DeskEnded,
    DeskLine,
    DeskNotice,
    DeskOnDuty,
    DeskPing,
    DeskPong,
    DeskQueued,
    DeskRoom,
    DeskServed,
    DeskSession,
)
from wire.desk.text import ALL_TOPICS

H = HEARTBEAT


def opened(desk: Desk, *conns: str) -> None:
    for conn in conns:
        desk.queue.opened(conn, "127.0.0.1")


def pings(desk: Desk, conn: str) -> list[DeskPing]:
    return desk.of(conn, DeskPing)


def answer_pings(desk: Desk, answered: set[str], *conns: str) -> None:
    """Each of `conns` answers the pings not in `answered` yet, as a living client does."""
    for conn in conns:
        for ping in pings(desk, conn):
            if ping.id not in answered:
                answered.add(ping.id)
                desk.send(conn, DeskPong(desk.mid(), ping.id))


# -- the registry's side -------------------------------------------------------------------


def test_a_quiet_connection_is_asked_for_a_sign_of_life_and_an_answer_keeps_it() -> None:
    desk = Desk()
    opened(desk, "op")
    desk.operator("op", "ann")
    assert desk.queue.next_wake() == H
    desk.advance(H - 0.1)
    assert not pings(desk, "op")
    desk.advance(0.1)
    [ping] = pings(desk, "op")
    desk.send("op", DeskPong("o-9", ping.id))
    desk.advance(2 * H - 1)  # answered: a new period of silence began with the answer
    assert "op" not in desk.closed and len(pings(desk, "op")) == 2
    desk.room("op")  # anything at all is a sign of life
    desk.advance(H - 1)
    assert "op" not in desk.closed and desk.queue.state.conns.get("op") is not None


def test_a_ping_from_a_client_is_answered_at_once_and_changes_nothing() -> None:
    desk = Desk()
    opened(desk, "a")
    desk.join("a", "Alice")
    out = desk.send("a", DeskPing("p-7"))
    [pong] = [a.message for a in out if isinstance(a, DeskSend)]
    assert isinstance(pong, DeskPong) and pong.reply_to == "p-7"
    assert desk.queue.state.waiting[0].conn == "a"


def test_a_frozen_operator_is_taken_as_lost_and_its_person_goes_to_the_idle_one() -> None:
    desk = Desk()
    opened(desk, "ann", "bob", "dan")
    desk.operator("ann", "ann")
    desk.join("dan", "Dan")
    assert desk.last("dan", DeskServed).operator == "ann"
    desk.operator("bob", "bob")
    # ann is frozen: never another word. Dan and bob answer every ping.
    answered: set[str] = set()
    while "ann" not in desk.closed:
        assert desk.now <= 2 * H, "ann was never taken as lost"
        desk.advance(0.5)
        answer_pings(desk, answered, "bob", "dan")
    assert desk.now <= 2 * H + 0.5
    notice = desk.last("ann", DeskNotice).text
    assert notice.startswith("No sign of life from your client for 20 s")
    assert desk.queue.state.conns.get("ann") is None and [
        o.name for o in desk.queue.state.operators.values()
    ] == ["bob"]
    ended = desk.of("dan", DeskEnded)
    assert ended and ended[-1].reason.startswith("ann's connection was lost")
    assert ended[-1].requeued
    assert desk.last("dan", DeskServed).operator == "bob"  # served at once by the idle one
    assert any("no sign of life for 20 s" in line for line in desk.logs)


def test_a_frozen_person_being_served_holds_a_place_at_the_front() -> None:
    desk = Desk()
    opened(desk, "ann", "dan")
    desk.operator("ann", "ann")
    desk.join("dan", "Dan")
    token = desk.token("dan")
    answered: set[str] = set()
    for _ in range(int(2 * H) + 1):
        desk.advance(1)
        answer_pings(desk, answered, "ann")
    assert "dan" in desk.closed
    [held] = desk.queue.state.waiting
    assert held.conn is None and held.token == token
    desk.room("ann")
    assert [r.connected for r in desk.last("ann", DeskRoom).rows] == [False]
    # the process runs again and its client reconnects with the token: served at once
    opened(desk, "dan2")
    desk.join("dan2", "Dan", token=token)
    assert desk.last("dan2", DeskQueued).restored
    assert desk.of("dan2", DeskServed)


def test_a_frozen_waiting_person_keeps_the_place_for_the_grace_period() -> None:
    desk = Desk()
    opened(desk, "a", "b")
    desk.join("a", "Alice")
    desk.join("b", "Bob")
    desk.advance(2 * H)
    assert set(desk.closed) == {"a", "b"}
    assert [p.conn for p in desk.queue.state.waiting] == [None, None]
    desk.advance(GRACE)
    assert not desk.queue.state.waiting  # given up like any held place


def test_a_late_timer_means_the_registry_was_stopped_and_judges_nobody() -> None:
    desk = Desk()
    opened(desk, "a")
    desk.join("a", "Alice")
    desk.now = 5 * H  # the registry was stopped: its timer runs late
    desk.apply(desk.queue.timer(desk.now))
    assert "a" not in desk.closed and len(pings(desk, "a")) == 1
    assert desk.queue.next_wake() == 6 * H  # a period to answer
    desk.advance(H)
    assert "a" in desk.closed


def test_the_console_and_connections_never_opened_are_not_watched() -> None:
    desk = Desk()
    desk.operator("console", "admin")
    desk.join("a", "Alice")
    assert desk.queue.next_wake() is None
    desk.advance(10 * H)
    assert not desk.closed and not pings(desk, "console")


# -- the clients' side ---------------------------------------------------------------------


def operator_on_duty() -> OperatorCore:
    core = Listed(OperatorCore("ann", ("127.0.0.1", 4000), "key", IdMaker("o")))
    core.start(0.0)
    core.connected(0.0)
    core.received(DeskOnDuty("d", "o-1", "ann", ALL_TOPICS, 0, 0), 0.0)
    core.received(DeskSession("d", "s1", "Tom", "07700900606", 5, "", 3, "", ()), 0.0)
    return core


def test_an_operator_answers_the_desks_ping_at_once() -> None:
    core = operator_on_duty()
    out = core.received(DeskPing("r-5"), 3.0)
    assert sent(out) == [DeskPong("o-2", "r-5")] and not shown(out)
    assert core.next_wake() == 3.0 + H  # the ping was a sign of life too


def test_an_operator_takes_a_silent_desk_as_lost_and_reconnects() -> None:
    core = operator_on_duty()
    assert core.next_wake() == H
    [ping] = sent(core.tick(H))
    assert isinstance(ping, DeskPing)
    assert core.next_wake() == 2 * H
    out = core.tick(2 * H)
    assert out[0] == Connection.DROP
    assert shown(out) == [
        "[The connection to the help desk was lost (no answer from the help desk for 20 s); "
        f"{cut_short('Tom')}. Reconnecting; you are back on duty as soon as it answers (.quit "
        "leaves).]"
    ]
    assert core.screen.session == "" and core.reconnecting
    assert core.tick(core.next_wake() or 0.0) == [Connection.OPEN]


def test_an_answer_to_the_ping_keeps_the_operator_connected() -> None:
    core = operator_on_duty()
    [ping] = sent(core.tick(H))
    assert core.received(DeskPong("r-6", ping.id), H + 0.01) == []  # type: ignore[attr-defined]
    assert core.next_wake() == H + 0.01 + H
    assert core.tick(2 * H) == []


def test_a_waiting_person_takes_a_silent_desk_as_lost_and_keeps_the_place() -> None:
    core = waiting()
    now = 0.0
    while core.link.phase is DeskPhase.WAITING:
        now = core.next_wake() or 0.0
        out = core.tick(now)
    assert now == 2 * H and Connection.DROP in out
    assert shown(out) == [
        "[The connection to the help desk was lost (no answer from the help desk for 20 s); "
        "reconnecting. Your place is kept for 120 s.]"
    ]
    assert core.link.phase is DeskPhase.RECONNECTING
    # the held place's refresh fell due at the same moment: done too, never a wake in the past
    assert (core.next_wake() or 0.0) > now
    while Connection.OPEN not in out:
        assert now < 2 * H + 1
        now = core.next_wake() or 0.0
        out = core.tick(now)


def test_a_client_whose_process_was_stopped_asks_before_blaming_the_desk() -> None:
    # resumed with SIGCONT long after its last tick: the silence was its own
    core = operator_on_duty()
    out = core.tick(60.0)
    assert [type(m) for m in sent(out)] == [DeskPing] and Connection.DROP not in out
    assert core.next_wake() == 60.0 + H
    # meanwhile the desk had taken it as lost: its notice and the end were waiting
    notice = "No sign of life from your client for 20 s, so the help desk took your connection"
    out = core.received(DeskNotice("d", notice + " as lost and closed it."), 60.0)
    assert shown(out) == [f"[{notice} as lost and closed it.]"]
    out = core.lost("the help desk closed the connection", 60.0)
    assert "Reconnecting" in shown(out)[0]
    assert core.tick(core.next_wake() or 0.0) == [Connection.OPEN]


def test_a_served_person_answers_pings_between_lines() -> None:
    core = waiting()
    core.received(DeskServed("d", "ann", "s1"), 1.0)
    assert sent(core.received(DeskPing("r-9"), 2.0)) == [DeskPong("p-2", "r-9")]
    assert shown(core.received(DeskLine("d", "ann", "hello", "s1"), 3.0)) == ["ann: hello"]
    assert core.next_wake() == min(3.0 + H, 5.0)  # the held-place refresh comes first
