"""PersonCore (`ChatApp -d`) on its own: events in, actions out, time as a number."""

from __future__ import annotations

from person_harness import (
    alerts,
    alerts_of,
    person,
    queued,
    sent,
    shown,
    taking_back,
    through_form,
    waiting,
)

from peer.core.desk.link import (
    ANSWER_TIMEOUT,
    ClientSettings,
    Connection,
    DeskPhase,
    ExitDesk,
    KeepPlace,
    Show,
)
from peer.core.desk.person import CRISIS_NOTICE_WAIT, REFRESH, PersonCore
from tests.desk.listed import Listed
from wire.base import IdMaker
from wire.desk.messages import (
    EST_MEASURED,
    EST_TYPICAL,
    DeskCrisis,
    DeskEnded,
    DeskJoin,
    DeskLeave,
    DeskLine,
    DeskLook,
    DeskPosition,
    DeskRefused,
    DeskServed,
    WaitEstimate,
)
from wire.desk.render import PLACE, WELCOME_BACK, ahead_of_you
from wire.desk.text import DEFAULT_CRISIS_NOTICE, ENDED_TO_PERSON, MAX_DESK_LINE


def test_words_of_danger_in_the_description_bring_the_notice_at_every_exit_too() -> None:
    # found by the desk tester: only topic 1 got it again on leaving or an unreachable desk
    core = person()
    through_form(core, topic="3")
    out = core.typed("exams are hard and I want to die", 0.0)
    assert out[-1] == Connection.OPEN
    out = core.not_connected("Connection refused", 0.0)
    assert any(isinstance(a, Show) and a.style == "alert" for a in out)
    assert out[-1] == ExitDesk(1)


def test_words_of_danger_typed_while_waiting_bring_a_notice_within_2_s_and_on_leaving() -> None:
    core = waiting()
    out = core.typed("I feel like I want to DIE, honestly", 0.0)
    assert "Nobody is serving you yet" in shown(out)[-1]
    assert alerts(out) == []  # the desk's own notice is awaited
    assert core.next_wake() == CRISIS_NOTICE_WAIT
    assert alerts(core.tick(CRISIS_NOTICE_WAIT)) == alerts_of(DEFAULT_CRISIS_NOTICE)  # never none
    out = core.typed(".quit", 1.0)
    out += core.received(DeskEnded("d", "You left.", False, -1), 1.1)
    assert any(isinstance(a, Show) and a.style == "alert" for a in out)  # and on leaving


def test_an_unreachable_desk_ends_the_run_with_the_crisis_notice_for_topic_1() -> None:
    core = person()
    through_form(core, topic="1")
    out = core.not_connected("Connection refused", 0.0)
    unreachable = "[Cannot reach the help desk at 127.0.0.1:4000 (Connection refused).]"
    assert out[0] == Show(unreachable, "error")
    assert any(isinstance(a, Show) and a.style == "alert" for a in out)
    assert out[-1] == ExitDesk(1)


def test_a_desk_found_unreachable_at_the_start_is_said_before_the_form() -> None:
    core = person()
    core.start(0.0)
    core.typed("Maria", 0.0)
    out = core.probed("Connection refused", 0.0)
    unreachable = "[Cannot reach the help desk at 127.0.0.1:4000 (Connection refused).]"
    assert out[:2] == [
        Show(unreachable, "error"),
        Show("[Start ChatApp -d again once the help desk is running.]", "error"),
    ]
    assert any(isinstance(a, Show) and a.style == "alert" for a in out)  # topic unknown yet
    assert out[-1] == ExitDesk(1)


def test_a_failed_probe_after_the_form_changes_nothing() -> None:
    core = person()
    through_form(core)
    assert core.probed("Connection refused", 0.0) == []  # the connection says it


def test_lines_before_being_served_are_not_sent() -> None:
    core = waiting()
    assert sent(core.typed("hello?", 0.0)) == []
    assert sent(core.typed(".queue", 0.0)) == [DeskLook("p-2")]
    assert "Unknown command .dance" in shown(core.typed(".dance", 0.0))[0]
    assert sent(core.typed(". queue", 0.0)) == [DeskLook("p-3")]  # with a space, as written
    core.received(DeskServed("d2", "ann", "s"), 0.0)
    assert sent(core.typed("hello", 0.0)) == [DeskLine("p-4", "", "hello", "s")]
    assert sent(core.typed("..dots", 0.0)) == [DeskLine("p-5", "", ".dots", "s")]
    assert sent(core.typed("x" * (MAX_DESK_LINE + 1), 0.0)) == []
    assert shown(core.typed(".queue", 0.0)) == ["[You are being served now.]"]


def test_a_line_too_long_is_put_back_in_the_prompt_or_quoted() -> None:
    # found by trying it: a line over 2000 characters was refused and thrown away
    long = "I have been trying " + "very " * 500
    core = waiting()
    core.received(DeskServed("d2", "ann", "s"), 0.0)
    out = core.typed(long, 0.0)
    assert not sent(out) and not [a for a in out if isinstance(a, Show) and a.style == "typed"]
    assert shown(out) == [
        f"[Not sent: the line has {len(long)} characters, and at most 2000 go in one. It "
        "began: I have been trying very very very very very very very very v...]"
    ]
    on_terminal = Listed(PersonCore(("127.0.0.1", 4000), IdMaker("p"), ClientSettings(prompt=True)))
    through_form(on_terminal)
    on_terminal.connected(0.0)
    on_terminal.received(queued(), 0.0)
    on_terminal.received(DeskServed("d2", "ann", "s"), 0.0)
    out = on_terminal.typed(".." + long, 0.0)
    assert out[-1] == Show(".." + long, "typed")  # as typed, to shorten
    assert "It is back in the prompt" in shown(out)[0] and not sent(out)


TYPICAL = WaitEstimate(EST_TYPICAL, 0, 0)


def push(position: int, operators: int, estimate: WaitEstimate = TYPICAL) -> DeskPosition:
    return DeskPosition("d", "", position, operators, 0, estimate)


def test_the_position_is_shown_when_it_changes_and_operators_coming_and_going() -> None:
    core = waiting()
    assert shown(core.received(push(2, 1), 0.0)) == []
    gone = shown(core.received(push(2, 0), 0.0))
    assert gone == ["[No operator for your topic is on duty any more; you keep your place.]"]
    back = shown(core.received(push(1, 1), 0.0))
    assert back[0] == "[An operator for your topic is on duty now.]" and len(back) > 1
    core.received(push(1, 0), 0.0)
    # the position stays: the on-duty line itself gives the new estimate
    back = shown(core.received(push(1, 1, WaitEstimate(EST_MEASURED, 120, 300)), 0.0))
    assert back == [
        "[An operator for your topic is on duty now; estimated wait: 2-5 min, measured from "
        "recent sessions.]"
    ]


def test_a_queue_answer_is_shown_whole_and_leaves_the_position_as_pushed() -> None:
    core = waiting()
    core.received(push(2, 1), 0.0)
    answer = DeskPosition("d", "look", 2, 1, 42, TYPICAL)
    assert shown(core.received(answer, 0.0))[0].startswith(f"[{ahead_of_you(1)}")
    assert shown(core.received(push(2, 1), 0.0)) == []  # the place did not change


def test_the_held_place_is_refreshed_while_waiting() -> None:
    core = waiting(now=0.0)
    assert core.next_wake() == REFRESH
    assert core.tick(REFRESH) == [KeepPlace("tok", 5, "", 120.0)]
    assert core.next_wake() == 2 * REFRESH


def test_what_is_typed_while_the_first_connection_is_made_waits_for_it() -> None:
    core = person()
    through_form(core)
    assert core.end_of_input(0.0) == []
    out = core.connected(0.1)
    assert [type(m) for m in sent(out)] == [DeskJoin, DeskLeave]


def test_a_refusal_ends_the_run_and_the_crisis_notice_comes_again() -> None:
    core = person()
    through_form(core, topic="1")
    core.connected(0.0)
    core.received(DeskCrisis("d", "Call 116 123."), 0.0)
    out = core.received(DeskRefused("d", "p-1", "The waiting room is full."), 0.0)
    assert out.index(KeepPlace()) < len(out) - 2  # then the notice again, then the end
    assert "Call 116 123." in shown(out)[-1]
    assert out[-1] == ExitDesk(1)


def test_a_session_ended_by_the_operator_exits_0_and_a_requeue_goes_on() -> None:
    core = waiting()
    core.received(DeskServed("d2", "ann", "s"), 0.0)
    requeued = core.received(DeskEnded("d", "ann went off duty.", True, -1), 0.0)
    assert ExitDesk(0) not in requeued and core.link.phase is DeskPhase.JOINING
    core.received(queued(position=1, restored=True), 0.0)
    core.received(DeskServed("d3", "bob", "s"), 0.0)
    assert core.received(DeskEnded("d", "Take care.", False, -1), 0.0)[-1] == ExitDesk(0)


def test_lines_that_crossed_the_operators_end_are_shown_back_unsent() -> None:
    core = waiting()
    core.received(DeskServed("d2", "ann", "s-1"), 0.0)
    assert sent(core.typed("hello", 0.0)) == [DeskLine("p-2", "", "hello", "s-1")]
    core.typed("my router", 0.0)
    core.typed("still blinks", 0.0)
    out = core.received(DeskEnded("d", ENDED_TO_PERSON.format("ann"), False, 1), 0.0)
    assert shown(out)[:3] == [
        f"[{ENDED_TO_PERSON.format('ann')}]",
        "[Not sent: the session ended before this line reached the help desk: “my router”]",
        "[Not sent: the session ended before this line reached the help desk: “still blinks”]",
    ]
    assert out[-1] == ExitDesk(0)


def test_a_new_session_names_itself_and_counts_afresh() -> None:
    core = waiting()
    core.received(DeskServed("d2", "ann", "s-1"), 0.0)
    core.typed("for ann", 0.0)
    core.received(DeskEnded("d", "ann went off duty.", True, -1), 0.0)
    core.received(queued(position=0, restored=True), 0.0)
    core.received(DeskServed("d3", "bea", "s-2"), 0.0)
    assert sent(core.typed(".end", 0.0))[0].session == "s-2"  # type: ignore[attr-defined]
    out = core.received(DeskEnded("d", ENDED_TO_PERSON.format("You"), False, 0), 0.0)
    assert not any("Not sent" in line for line in shown(out))


def test_a_place_taken_back_and_then_requeued_is_not_said_to_be_lost() -> None:
    # found in use: the kept place came back, the operator then went off duty
    core = person()
    through_form(core, kept=KeepPlace("old-token", 2, "", 120.0))
    core.connected(0.0)
    core.received(queued(restored=True), 0.0)
    core.received(DeskServed("d2", "pat", "s"), 1.0)
    core.received(DeskEnded("d3", "pat went off duty.", True, -1), 2.0)
    again = core.received(queued(position=1, restored=False), 2.0)
    assert not any("could not be kept" in line for line in shown(again))
    assert core.link.phase is DeskPhase.WAITING


def test_a_place_kept_further_back_says_the_topic_is_kept_with_where_it_stands() -> None:
    core = taking_back(1.0)
    core.connected(1.1)
    out = core.received(queued(position=2, restored=True), 1.2)
    assert shown(out)[0] == (
        f"[{WELCOME_BACK}; {PLACE.format(2)}. Your topic is kept too: 5 Financial Suggestions.]"
    )


NO_ANSWER = (
    "[No answer from the help desk at 127.0.0.1:4000 in 10 s: is that the address and port "
    "of a ChatApp registry?]"
)


def test_something_that_never_answers_the_join_is_given_up_on() -> None:
    # found by trying it: `ChatApp -d` pointed at a chat peer's port waited silently for ever
    core = person()
    through_form(core, topic="1")
    core.connected(1.0)
    wake = core.next_wake()
    while wake is not None and wake < 1.0 + ANSWER_TIMEOUT:  # the held-place refreshes
        assert ExitDesk(1) not in core.tick(wake)
        wake = core.next_wake()
    assert wake == 1.0 + ANSWER_TIMEOUT
    out = core.tick(wake)
    assert out[0] == Show(NO_ANSWER, "error")
    assert any(isinstance(a, Show) and a.style == "alert" for a in out)  # the crisis notice
    assert out[-1] == ExitDesk(1)


def test_a_desk_that_answers_in_time_is_not_given_up_on() -> None:
    core = waiting(1.0)
    assert not shown(core.tick(1.0 + ANSWER_TIMEOUT))
    assert core.link.phase is DeskPhase.WAITING


def test_words_of_crisis_typed_while_waiting_go_to_the_desk_and_nothing_else_does() -> None:
    core = waiting()
    out = core.typed("I just want to die", 1.0)
    assert alerts(out) == []  # the desk's notice is awaited (see the tests above)
    assert "the help desk is told that you may need help urgently" in shown(out)[-1]
    assert sent(out) == [DeskLine("p-2", "", "I just want to die", "")]  # names no session
    # any other line typed while waiting stays here, as before
    other = core.typed("how long now?", 1.0)
    assert sent(other) == [] and "not being served yet" in shown(other)[0]


def test_words_of_crisis_typed_while_reconnecting_are_told_once_the_place_is_back() -> None:
    core = waiting()
    core.lost("reset", 1.0)
    out = core.typed("thinking of ending it all", 1.2)
    assert sent(out) == [] and "help desk is told" in shown(out)[-1]
    core.tick(1.5)
    core.connected(1.6)
    back = core.received(queued(restored=True), 1.7)
    [line] = [m for m in sent(back) if isinstance(m, DeskLine)]
    assert line.text == "thinking of ending it all" and line.session == ""
    # said once
    assert not [
        m for m in sent(core.received(queued(restored=True), 2.0)) if isinstance(m, DeskLine)
    ]


def test_a_desk_with_its_own_notice_shows_one_notice_not_two() -> None:
    # found by trying it: with --crisis-notice on the registry, words of crisis typed while
    # waiting showed the client's built-in notice at once, then the registry's
    core = waiting()
    out = core.typed("I just want to die", 1.0)
    assert alerts(out) == []
    local = core.received(DeskCrisis("d", "Call 112 or the Samaritans: 116 123"), 1.1)
    assert alerts(local) == ["!!! Call 112 or the Samaritans: 116 123"]
    assert alerts(core.tick(1.0 + CRISIS_NOTICE_WAIT)) == []  # nothing owed any more
    # known now: shown at once the next time, and not again when the desk sends it
    again = core.typed("I still want to die", 5.0)
    assert alerts(again) == ["!!! Call 112 or the Samaritans: 116 123"]
    assert alerts(core.received(DeskCrisis("d", "Call 112 or the Samaritans: 116 123"), 5.1)) == []


def test_a_notice_awaited_when_the_session_ends_is_shown_once_at_the_exit() -> None:
    core = waiting()
    core.typed("I just want to die", 1.0)
    out = core.received(DeskRefused("d", "", "The help desk is closing."), 1.1)
    assert alerts(out) == alerts_of(DEFAULT_CRISIS_NOTICE) and out[-1] == ExitDesk(1)


def test_the_desks_own_crisis_notice_is_shown_unless_it_is_the_one_just_shown() -> None:
    core = waiting()
    core.lost("reset", 1.0)
    core.typed("I just want to die", 1.0)  # no connection: the built-in notice, at once
    same = core.received(DeskCrisis("d", DEFAULT_CRISIS_NOTICE), 1.1)
    assert shown(same) == []
    local = core.received(DeskCrisis("d", "Call 112 or the Samaritans: 116 123"), 1.2)
    assert shown(local) == ["!!! Call 112 or the Samaritans: 116 123"]
