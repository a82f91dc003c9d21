"""The person's connection lost, made again and left (peer.core.desk.person.PersonCore): a
place held for the token is taken back until the grace period is over, and given up on leaving."""

from __future__ import annotations

from person_harness import PHONE, person, queued, sent, shown, through_form, waiting

from peer.core.desk.link import ANSWER_TIMEOUT, Connection, DeskPhase, ExitDesk, KeepPlace, Show
from wire.desk.messages import DeskEnded, DeskGiveUp, DeskJoin, DeskLeave, DeskServed
from wire.desk.text import YOU_LEFT

UNTOLD = "[You left the help desk. It could not be told now, and gives your place up by itself.]"


def test_a_lost_connection_reconnects_with_the_token_and_backs_off() -> None:
    core = waiting()
    lost = core.lost("reset", 1.0)
    assert "reconnecting. Your place is kept for 120 s" in shown(lost)[0]
    kept = "[Reconnecting to the help desk; your place is kept.]"
    assert shown(core.typed(".queue", 1.0)) == [kept]
    assert core.next_wake() == 1.5
    assert core.tick(1.5) == [Connection.OPEN]
    core.not_connected("refused", 1.6)
    assert core.next_wake() == 2.6  # 1 s after the failed try
    assert core.tick(2.6) == [Connection.OPEN]
    again = core.connected(2.7)
    assert shown(again) == []  # said once the desk answers: it may accept and be silent
    [join] = sent(again)
    assert isinstance(join, DeskJoin) and join.token == "tok"
    back = core.received(queued(restored=True), 2.8)
    assert shown(back)[0] == "[Connected again.]"


def test_reconnecting_gives_up_when_the_grace_period_is_over() -> None:
    core = person()
    through_form(core)
    core.connected(0.0)
    core.received(queued(grace=3), 0.0)
    core.lost("reset", 0.0)
    now = 0.0
    while core.link.phase is DeskPhase.RECONNECTING:
        wake = core.next_wake()
        assert wake is not None and wake > now
        now = wake
        for action in core.tick(now):
            if action == Connection.OPEN:
                core.not_connected("refused", now)
    assert now == 3.0
    assert core.tick(now) == []


def test_given_up_is_said_forgotten_and_exits_1() -> None:
    core = person()
    through_form(core)
    core.connected(0.0)
    core.received(queued(grace=1), 0.0)
    core.lost("reset", 0.0)
    core.tick(0.5)
    core.not_connected("refused", 0.5)
    out = core.tick(1.0)
    assert shown(out) == ["[Could not reach the help desk in time; your place was given up.]"]
    assert out[-2:] == [KeepPlace(), ExitDesk(1)]


def test_a_connection_lost_while_served_keeps_a_place_at_the_front() -> None:
    core = waiting()
    core.received(DeskServed("d2", "ann", "s"), 0.0)
    [line] = shown(core.lost("reset", 1.0))
    assert "you keep a place at the front" in line
    # not "ended": a desk restarted after a crash resumes the conversation itself
    assert "the session is interrupted" in line


def test_a_connection_closed_before_any_place_ends_the_run() -> None:
    core = person()
    through_form(core)
    core.connected(0.0)
    out = core.lost("the help desk closed the connection", 0.0)
    assert out[0].style == "error"  # type: ignore[union-attr]
    assert out[-2:] == [KeepPlace(), ExitDesk(1)]


def test_leaving_waits_for_the_desks_goodbye() -> None:
    core = waiting()
    out = core.typed(".quit", 1.0)
    assert sent(out) == [DeskLeave("p-2")]
    assert core.next_wake() == 3.0
    assert sent(core.typed("more", 1.5)) == []  # typed while leaving: nothing happens
    bye = core.received(DeskEnded("d", YOU_LEFT, False, -1), 1.5)
    assert bye[-2:] == [KeepPlace(), ExitDesk(0)]


def test_leaving_closes_anyway_when_the_desk_does_not_answer() -> None:
    core = waiting()
    core.end_of_input(1.0)
    assert core.tick(2.9) == []
    assert core.tick(3.0) == [Show("[You left the help desk.]"), KeepPlace(), ExitDesk(0)]


def test_leaving_while_reconnecting_gives_the_place_up_on_a_connection_of_its_own() -> None:
    # a place held for nobody counted ahead of everyone behind it for the grace period
    core = waiting()
    core.lost("reset", 1.0)
    assert core.typed(".quit", 1.1) == [Connection.OPEN]
    assert core.typed(".queue", 1.2) == []  # leaving: nothing more is done
    [give_up] = sent(core.connected(1.3))
    assert give_up == DeskGiveUp(give_up.id, PHONE, "tok", give_up.wire)  # type: ignore[attr-defined]
    bye = core.received(DeskEnded("d", YOU_LEFT, False, -1), 1.4)
    assert shown(bye) == [f"[{YOU_LEFT}]"]
    assert bye[-2:] == [KeepPlace(), ExitDesk(0)]
    assert core.lost("closed", 1.5) == []


def test_leaving_while_the_desk_cannot_be_reached_ends_at_once_or_in_2_s() -> None:
    refused = waiting()
    refused.lost("reset", 1.0)
    refused.typed(".quit", 1.1)
    assert refused.not_connected("Connection refused", 1.1) == [
        Show(UNTOLD),
        KeepPlace(),  # so that a later start asks for a new place, not this one
        ExitDesk(0),
    ]
    silent = waiting()
    silent.lost("reset", 1.0)
    silent.end_of_input(1.1)  # Ctrl-C
    assert silent.next_wake() == 3.1
    assert silent.tick(3.0) == []
    assert silent.tick(3.1) == [Show(UNTOLD), KeepPlace(), ExitDesk(0)]
    lost = waiting()
    lost.lost("reset", 1.0)
    lost.typed(".quit", 1.1)
    lost.connected(1.2)
    assert lost.lost("reset", 1.3) == [Show(UNTOLD), KeepPlace(), ExitDesk(0)]


def test_a_desk_that_answered_before_and_is_silent_after_reconnecting_is_a_lost_connection() -> (
    None
):
    core = waiting(1.0)
    core.lost("reset", 2.0)
    assert core.tick(2.5) == [Connection.OPEN]
    core.connected(2.6)
    out = core.tick(2.6 + ANSWER_TIMEOUT)
    assert "no answer in 10 s" in shown(out)[0] and core.link.phase is DeskPhase.RECONNECTING
    assert ExitDesk(1) not in out


def test_a_frozen_desk_that_accepts_but_never_answers_is_given_up_on_from_the_first_loss() -> None:
    # found with the registry stopped (SIGSTOP): its kernel accepts each reconnection, the
    # join gets no answer, and each round started the grace period again, for ever
    core = waiting(0.0)
    core.lost("no answer from the help desk for 20 s", 10.0)
    now, said = 10.0, []
    for _ in range(1000):
        if core.link.phase is DeskPhase.DONE:
            break
        wake = core.next_wake()
        assert wake is not None
        now = max(now, wake)  # (the held-place refresh, due before the loss)
        out = core.tick(now)
        said += shown(out)
        if Connection.OPEN in out:
            said += shown(core.connected(now))
    assert now == 130.0  # the grace period, from the first loss
    assert "[Connected again.]" not in said
    silent = [line for line in said if "accepts the connection but does not answer" in line]
    assert len(silent) == 1 and "kept for 10" in silent[0]  # said once, with what is left
    assert said[-1] == "[Could not reach the help desk in time; your place was given up.]"


def test_a_desk_that_answers_a_later_rejoin_is_connected_again_and_the_grace_starts_anew() -> None:
    core = waiting(0.0)
    core.lost("reset", 10.0)
    assert core.tick(10.5) == [Connection.OPEN]
    core.connected(10.5)
    core.tick(10.5 + ANSWER_TIMEOUT)  # no answer: still the same loss
    assert core.link.phase is DeskPhase.RECONNECTING
    while Connection.OPEN not in core.tick(wake := core.next_wake() or 0.0):
        pass  # (a held-place refresh came first)
    assert wake <= 10.5 + ANSWER_TIMEOUT + 4.0
    core.connected(wake)
    assert "[Connected again.]" in shown(core.received(queued(restored=True), wake + 0.1))
    assert core.link.phase is DeskPhase.WAITING
    # lost again later: a new loss, with the whole grace period
    assert "kept for 120 s" in shown(core.lost("reset", 200.0))[0]
    assert core.tick(200.5) == [Connection.OPEN]


def test_quit_while_a_rejoin_is_unanswered_gives_the_place_up_on_a_new_connection() -> None:
    core = waiting(0.0)
    core.lost("reset", 1.0)
    core.tick(1.5)
    core.connected(1.5)
    assert shown(core.typed(".queue", 2.0)) == [
        "[Reconnecting to the help desk; your place is kept.]"
    ]
    out = core.typed(".quit", 2.0)
    assert out == [Connection.OPEN] and core.link.phase is DeskPhase.LEAVING
    bye = core.tick(4.0)
    assert "could not be told now" in shown(bye)[0] and bye[-1] == ExitDesk(0)
