"""PersonCore (`ChatApp -d`) on its own: events in, actions out, time as a number."""

from __future__ import annotations

from peer.desk.actions import (
    ANSWER_TIMEOUT,
    Action,
    Ask,
    Connect,
    Exit,
    FindPlace,
    ForgetPlace,
    KeepPlace,
    KeptPlace,
    Probe,
    PutTyped,
    Send,
    SetPrompt,
    Show,
)
from peer.desk.person import CRISIS_NOTICE_WAIT, REFRESH, PersonCore
from wire.desk.messages import (
    EST_MEASURED,
    EST_TYPICAL,
    DeskCrisis,
    DeskEnded,
    DeskGiveUp,
    DeskJoin,
    DeskLeave,
    DeskLine,
    DeskPosition,
    DeskQueued,
    DeskQueueRequest,
    DeskRefused,
    DeskServed,
)
from wire.desk.text import DEFAULT_CRISIS_NOTICE, MAX_DESK_LINE
from wire.reliable import IdMaker

PHONE = "07700900606"


def shown(actions: list[Action]) -> list[str]:
    return [a.line for a in actions if isinstance(a, Show)]


def sent(actions: list[Action]) -> list[object]:
    return [a.message for a in actions if isinstance(a, Send)]


def person() -> PersonCore:
    return PersonCore("127.0.0.1", 4000, IdMaker("p"), retry=(0.5, 4.0), leave_timeout=2.0)


def through_form(core: PersonCore, topic: str = "5", kept: KeptPlace | None = None) -> None:
    core.start(0.0)
    core.typed("Maria", 0.0)
    assert core.typed("07700 900606", 0.0) == [FindPlace(PHONE)]
    core.place_found(kept, 0.0)
    if kept is None:
        core.typed(topic, 0.0)


def queued(position: int = 2, *, restored: bool = False, grace: int = 120) -> DeskQueued:
    return DeskQueued("d1", "p-1", "tok", 5, position, 1, grace, restored, EST_TYPICAL, 0, 0)


def waiting(now: float = 0.0) -> PersonCore:
    core = person()
    through_form(core)
    core.connected(now)
    core.received(queued(), now)
    assert core.phase == "waiting"
    return core


def test_the_form_asks_name_number_and_topic_then_joins() -> None:
    core = person()
    start = core.start(0.0)
    assert "help desk at 127.0.0.1:4000" in shown(start)[0]
    assert start[-2:] == [Ask("Name:"), Probe()]
    assert core.typed("  Maria ", 0.0) == [Ask("Registered mobile number:")]
    assert core.typed("07700 900606", 0.0) == [FindPlace(PHONE)]
    menu = core.place_found(None, 0.0)
    assert any("5. Financial Suggestions" in line for line in shown(menu))
    assert menu[-1] == Ask("Topic (1-6):")
    assert core.typed("5", 0.0) == [SetPrompt("> "), Connect()]
    assert core.next_wake() is None
    [join] = sent(core.connected(0.0))
    assert join == DeskJoin("p-1", "Maria", PHONE, 5, "", "", join.wire)  # type: ignore[attr-defined]


def test_a_wrong_answer_is_said_and_the_question_asked_again() -> None:
    core = person()
    core.start(0.0)
    bad_name = core.typed("", 0.0)
    assert len(shown(bad_name)) == 1 and bad_name[-1] == Ask("Name:")
    core.typed("Maria", 0.0)
    bad_phone = core.typed("12ab", 0.0)
    assert "digits" in shown(bad_phone)[0] and bad_phone[-1] == Ask("Registered mobile number:")


def test_three_wrong_topics_close_the_client() -> None:
    core = person()
    through_form(core, topic="9")
    assert core.typed("  ", 0.0) == [Ask("Topic (1-6):")]  # an empty Enter is no try
    second = core.typed("x", 0.0)
    assert shown(second)[0].endswith("1 try left.]") and second[-1] == Ask("Topic (1-6):")
    third = core.typed("0", 0.0)
    assert "No valid topic after 3 tries" in shown(third)[-1]
    assert third[-1] == Exit(1)
    assert core.typed("5", 0.0) == []  # the run is over


def test_topic_3_asks_for_a_description() -> None:
    core = person()
    through_form(core, topic="3")
    assert core.typed("", 0.0)[-1] == Ask("Description:")
    assert core.typed("Maths is hard", 0.0) == [SetPrompt("> "), Connect()]
    [join] = sent(core.connected(0.0))
    assert isinstance(join, DeskJoin) and join.description == "Maths is hard"


def test_quit_during_the_form_says_bye() -> None:
    core = person()
    core.start(0.0)
    assert core.typed(".quit", 0.0) == [Show("[Bye.]"), Exit(0)]
    other = person()
    other.start(0.0)
    assert other.end_of_input(0.0) == [Show("[Bye.]"), Exit(0)]


def test_a_kept_place_is_asked_back_with_its_token() -> None:
    core = person()
    through_form(core, kept=KeptPlace("old-token", 2, "", 120.0))
    [join] = sent(core.connected(0.0))
    assert isinstance(join, DeskJoin) and (join.token, join.topic) == ("old-token", 2)
    again = core.received(queued(restored=False), 0.0)
    assert "[Your earlier place could not be kept, so you join the waiting room again.]" in (
        shown(again)
    )
    assert KeepPlace("tok", 2, "", 120.0) in again  # the new token for the kept topic


def test_words_of_danger_in_the_description_bring_the_notice_at_every_exit_too() -> None:
    # found by the desk tester: only topic 1 got it again on leaving or an unreachable desk
    core = person()
    through_form(core, topic="3")
    out = core.typed("exams are hard and I want to die", 0.0)
    assert out[-1] == Connect()
    out = core.not_connected("Connection refused", 0.0)
    assert any(isinstance(a, Show) and a.style == "alert" for a in out)
    assert out[-1] == Exit(1)


def alerts(actions: list[Action]) -> list[str]:
    return [a.line for a in actions if isinstance(a, Show) and a.style == "alert"]


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
    assert out[-1] == Exit(1)


def test_a_desk_found_unreachable_at_the_start_is_said_before_the_form() -> None:
    core = person()
    core.start(0.0)
    core.typed("Maria", 0.0)
    out = core.probe_failed("Connection refused", 0.0)
    unreachable = "[Cannot reach the help desk at 127.0.0.1:4000 (Connection refused).]"
    assert out[:2] == [
        Show(unreachable, "error"),
        Show("[Start ChatApp -d again once the help desk is running.]", "error"),
    ]
    assert any(isinstance(a, Show) and a.style == "alert" for a in out)  # topic unknown yet
    assert out[-1] == Exit(1)


def test_a_failed_probe_after_the_form_changes_nothing() -> None:
    core = person()
    through_form(core)
    assert core.probe_failed("Connection refused", 0.0) == []  # the connection says it


def test_lines_before_being_served_are_not_sent() -> None:
    core = waiting()
    assert sent(core.typed("hello?", 0.0)) == []
    assert sent(core.typed(".queue", 0.0)) == [DeskQueueRequest("p-2")]
    assert "Unknown command .dance" in shown(core.typed(".dance", 0.0))[0]
    core.received(DeskServed("d2", "ann", "s"), 0.0)
    assert sent(core.typed("hello", 0.0)) == [DeskLine("p-3", "", "hello", "s")]
    assert sent(core.typed("..dots", 0.0)) == [DeskLine("p-4", "", ".dots", "s")]
    assert sent(core.typed("x" * (MAX_DESK_LINE + 1), 0.0)) == []
    assert shown(core.typed(".queue", 0.0)) == ["[You are being served now.]"]


def test_a_line_too_long_is_put_back_in_the_prompt_or_quoted() -> None:
    # found by trying it: a line over 2000 characters was refused and thrown away
    long = "I have been trying " + "very " * 500
    core = waiting()
    core.received(DeskServed("d2", "ann", "s"), 0.0)
    out = core.typed(long, 0.0)
    assert not sent(out) and PutTyped not in map(type, out)
    assert shown(out) == [
        f"[Not sent: the line has {len(long)} characters, and at most 2000 go in one. It "
        "began: I have been trying very very very very very very very very v...]"
    ]
    on_terminal = PersonCore("127.0.0.1", 4000, IdMaker("p"), prompt=True)
    through_form(on_terminal)
    on_terminal.connected(0.0)
    on_terminal.received(queued(), 0.0)
    on_terminal.received(DeskServed("d2", "ann", "s"), 0.0)
    out = on_terminal.typed(".." + long, 0.0)
    assert out[-1] == PutTyped(".." + long)  # as typed, to shorten
    assert "It is back in the prompt" in shown(out)[0] and not sent(out)


def test_the_position_is_shown_when_it_changes_and_operators_coming_and_going() -> None:
    core = waiting()
    assert shown(core.received(DeskPosition("d", 2, 1, EST_TYPICAL, 0, 0), 0.0)) == []
    gone = shown(core.received(DeskPosition("d", 2, 0, EST_TYPICAL, 0, 0), 0.0))
    assert gone == ["[No operator for your topic is on duty any more; you keep your place.]"]
    back = shown(core.received(DeskPosition("d", 1, 1, EST_TYPICAL, 0, 0), 0.0))
    assert back[0] == "[An operator for your topic is on duty now.]" and len(back) > 1
    core.received(DeskPosition("d", 1, 0, EST_TYPICAL, 0, 0), 0.0)
    # the position stays: the on-duty line itself gives the new estimate
    back = shown(core.received(DeskPosition("d", 1, 1, EST_MEASURED, 120, 300), 0.0))
    assert back == [
        "[An operator for your topic is on duty now; estimated wait: 2-5 min, measured from "
        "recent sessions.]"
    ]


def test_the_held_place_is_refreshed_while_waiting() -> None:
    core = waiting(now=0.0)
    assert core.next_wake() == REFRESH
    assert core.tick(REFRESH) == [KeepPlace("tok", 5, "", 120.0)]
    assert core.next_wake() == 2 * REFRESH


def test_a_lost_connection_reconnects_with_the_token_and_backs_off() -> None:
    core = waiting()
    lost = core.lost("reset", 1.0)
    assert "reconnecting. Your place is kept for 120 s" in shown(lost)[0]
    kept = "[Reconnecting to the help desk; your place is kept.]"
    assert shown(core.typed(".queue", 1.0)) == [kept]
    assert core.next_wake() == 1.5
    assert core.tick(1.5) == [Connect()]
    core.not_connected("refused", 1.6)
    assert core.next_wake() == 2.6  # 1 s after the failed try
    assert core.tick(2.6) == [Connect()]
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
    while core.phase == "reconnecting":
        wake = core.next_wake()
        assert wake is not None and wake > now
        now = wake
        for action in core.tick(now):
            if action == Connect():
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
    assert out[-2:] == [ForgetPlace(), Exit(1)]


def test_a_connection_lost_while_served_keeps_a_place_at_the_front() -> None:
    core = waiting()
    core.received(DeskServed("d2", "ann", "s"), 0.0)
    assert "you keep a place at the front" in shown(core.lost("reset", 1.0))[0]


def test_a_connection_closed_before_any_place_ends_the_run() -> None:
    core = person()
    through_form(core)
    core.connected(0.0)
    out = core.lost("the help desk closed the connection", 0.0)
    assert out[0].style == "error"  # type: ignore[union-attr]
    assert out[-2:] == [ForgetPlace(), Exit(1)]


def test_leaving_waits_for_the_desks_goodbye() -> None:
    core = waiting()
    out = core.typed(".quit", 1.0)
    assert sent(out) == [DeskLeave("p-2")]
    assert core.next_wake() == 3.0
    assert sent(core.typed("more", 1.5)) == []  # typed while leaving: nothing happens
    bye = core.received(DeskEnded("d", "You left the waiting room.", False, -1), 1.5)
    assert bye[-2:] == [ForgetPlace(), Exit(0)]


def test_leaving_closes_anyway_when_the_desk_does_not_answer() -> None:
    core = waiting()
    core.end_of_input(1.0)
    assert core.tick(2.9) == []
    assert core.tick(3.0) == [Show("[You left the help desk.]"), ForgetPlace(), Exit(0)]


UNTOLD = "[You left the help desk. It could not be told now, and gives your place up by itself.]"


def test_leaving_while_reconnecting_gives_the_place_up_on_a_connection_of_its_own() -> None:
    # a place held for nobody counted ahead of everyone behind it for the grace period
    core = waiting()
    core.lost("reset", 1.0)
    assert core.typed(".quit", 1.1) == [Connect()]
    assert core.typed(".queue", 1.2) == []  # leaving: nothing more is done
    [give_up] = sent(core.connected(1.3))
    assert give_up == DeskGiveUp(give_up.id, PHONE, "tok", give_up.wire)  # type: ignore[attr-defined]
    bye = core.received(DeskEnded("d", "You left the waiting room.", False, -1), 1.4)
    assert shown(bye) == ["[You left the waiting room.]"]
    assert bye[-2:] == [ForgetPlace(), Exit(0)]
    assert core.lost("closed", 1.5) == []


def test_leaving_while_the_desk_cannot_be_reached_ends_at_once_or_in_2_s() -> None:
    refused = waiting()
    refused.lost("reset", 1.0)
    refused.typed(".quit", 1.1)
    assert refused.not_connected("Connection refused", 1.1) == [
        Show(UNTOLD),
        ForgetPlace(),  # so that a later start asks for a new place, not this one
        Exit(0),
    ]
    silent = waiting()
    silent.lost("reset", 1.0)
    silent.end_of_input(1.1)  # Ctrl-C
    assert silent.next_wake() == 3.1
    assert silent.tick(3.0) == []
    assert silent.tick(3.1) == [Show(UNTOLD), ForgetPlace(), Exit(0)]
    lost = waiting()
    lost.lost("reset", 1.0)
    lost.typed(".quit", 1.1)
    lost.connected(1.2)
    assert lost.lost("reset", 1.3) == [Show(UNTOLD), ForgetPlace(), Exit(0)]


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
    assert out.index(ForgetPlace()) < len(out) - 2  # then the notice again, then the end
    assert "Call 116 123." in shown(out)[-1]
    assert out[-1] == Exit(1)


def test_a_session_ended_by_the_operator_exits_0_and_a_requeue_goes_on() -> None:
    core = waiting()
    core.received(DeskServed("d2", "ann", "s"), 0.0)
    requeued = core.received(DeskEnded("d", "ann went off duty.", True, -1), 0.0)
    assert Exit(0) not in requeued and core.phase == "joining"
    core.received(queued(position=1, restored=True), 0.0)
    core.received(DeskServed("d3", "bob", "s"), 0.0)
    assert core.received(DeskEnded("d", "Take care.", False, -1), 0.0)[-1] == Exit(0)


def test_lines_that_crossed_the_operators_end_are_shown_back_unsent() -> None:
    core = waiting()
    core.received(DeskServed("d2", "ann", "s-1"), 0.0)
    assert sent(core.typed("hello", 0.0)) == [DeskLine("p-2", "", "hello", "s-1")]
    core.typed("my router", 0.0)
    core.typed("still blinks", 0.0)
    out = core.received(DeskEnded("d", "ann ended the session. Take care.", False, 1), 0.0)
    assert shown(out)[:3] == [
        "[ann ended the session. Take care.]",
        "[Not sent: the session ended before this line reached the help desk: “my router”]",
        "[Not sent: the session ended before this line reached the help desk: “still blinks”]",
    ]
    assert out[-1] == Exit(0)


def test_a_new_session_names_itself_and_counts_afresh() -> None:
    core = waiting()
    core.received(DeskServed("d2", "ann", "s-1"), 0.0)
    core.typed("for ann", 0.0)
    core.received(DeskEnded("d", "ann went off duty.", True, -1), 0.0)
    core.received(queued(position=0, restored=True), 0.0)
    core.received(DeskServed("d3", "bea", "s-2"), 0.0)
    assert sent(core.typed(".end", 0.0))[0].session == "s-2"  # type: ignore[attr-defined]
    out = core.received(DeskEnded("d", "You ended the session. Take care.", False, 0), 0.0)
    assert not any("Not sent" in line for line in shown(out))


def test_a_command_during_the_form_is_neither_an_answer_nor_a_try() -> None:
    core = person()
    through_form(core, topic=".queue")
    assert core.typed(".help", 0.0)[-1] == Ask("Topic (1-6):")
    # neither command used a try: a wrong topic now is the first of three
    assert shown(core.typed("9", 0.0))[0].endswith("2 tries left.]")
    core.typed("3", 0.0)
    out = core.typed(".queue", 0.0)
    assert shown(out) == [
        "[.queue works once you are waiting; answer the question first (.quit leaves).]"
    ]
    assert out[-1] == Ask("Description:")
    assert shown(core.typed(".NET will not install", 0.0)) == [
        "[.NET is no command; to answer with it, type ..NET (.quit leaves).]"
    ]
    core.typed("..NET will not install", 0.0)  # two dots: an answer that starts with one
    [join] = sent(core.connected(0.0))
    assert isinstance(join, DeskJoin) and join.description == ".NET will not install"


def test_a_place_taken_back_and_then_requeued_is_not_said_to_be_lost() -> None:
    # found in use: the kept place came back, the operator then went off duty
    core = person()
    through_form(core, kept=KeptPlace("old-token", 2, "", 120.0))
    core.connected(0.0)
    core.received(queued(restored=True), 0.0)
    core.received(DeskServed("d2", "pat", "s"), 1.0)
    core.received(DeskEnded("d3", "pat went off duty.", True, -1), 2.0)
    again = core.received(queued(position=1, restored=False), 2.0)
    assert not any("could not be kept" in line for line in shown(again))
    assert core.phase == "waiting"


def taking_back(now: float) -> PersonCore:
    """Tom Baker's client, whose held-place file keeps a place for topic 5, is given his
    name and number; the place is found at `now`, so the topic is not asked."""
    core = person()
    core.start(0.0)
    core.typed("Tom Baker", 0.5)
    core.typed("07700 900606", now)
    out = core.place_found(KeptPlace("old-token", 5, "", 120.0), now)
    assert shown(out) == [
        "[You had a place in the waiting room a moment ago (5 Financial Suggestions); taking it "
        "back, with its topic, so the topic is not asked again.]"
    ]
    return core


FOR_THE_FORM = (
    "[Not sent: “5” was typed for the form, which asks nothing more: the topic of your "
    "earlier place (5 Financial Suggestions) is kept.]"
)


def test_a_topic_typed_for_a_place_taken_back_never_reaches_the_operator() -> None:
    # found by trying it: the topic was not asked, and the "5" typed for it (begun before
    # the client said the place was taken back) reached the operator as `Tom Baker: 5`
    core = taking_back(1.0)
    core.connected(1.1)
    back = core.received(queued(position=0, restored=True), 1.2)
    served = core.received(DeskServed("d2", "pat", "s1"), 1.2)
    out = core.typed("5", 1.6, begun=0.9)
    assert not sent(out) and shown(out) == [FOR_THE_FORM]
    # told the place and topic are kept before the session, and talking works after it
    assert shown(back) == [
        "[Welcome back: your place was kept; an operator is free for you now. Your topic is "
        "kept too: 5 Financial Suggestions.]"
    ]
    assert shown(served)[0].startswith("[It is your turn")
    [line] = sent(core.typed("hello", 2.0, begun=1.8))
    assert isinstance(line, DeskLine) and line.text == "hello"


def test_a_topic_piped_ahead_for_a_place_taken_back_is_said_not_to_be_sent() -> None:
    # from a script: the "5" was read before the place was found, and waits for the
    # connection with the time it was read
    core = taking_back(1.0)
    assert core.typed("5", 1.05, begun=1.0 - 0.01) == []  # held until connected
    out = core.connected(1.1)
    assert FOR_THE_FORM in shown(out)
    assert not [m for m in sent(out) if isinstance(m, DeskLine)]


def test_a_place_kept_further_back_says_the_topic_is_kept_with_where_it_stands() -> None:
    core = taking_back(1.0)
    core.connected(1.1)
    out = core.received(queued(position=2, restored=True), 1.2)
    assert shown(out)[0] == (
        "[Welcome back: your place was kept; number 2 in the queue. Your topic is kept too: "
        "5 Financial Suggestions.]"
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
        assert Exit(1) not in core.tick(wake)
        wake = core.next_wake()
    assert wake == 1.0 + ANSWER_TIMEOUT
    out = core.tick(wake)
    assert out[0] == Show(NO_ANSWER, "error")
    assert any(isinstance(a, Show) and a.style == "alert" for a in out)  # the crisis notice
    assert out[-1] == Exit(1)


def test_a_desk_that_answers_in_time_is_not_given_up_on() -> None:
    core = waiting(1.0)
    assert not shown(core.tick(1.0 + ANSWER_TIMEOUT))
    assert core.phase == "waiting"


def test_a_desk_that_answered_before_and_is_silent_after_reconnecting_is_a_lost_connection() -> (
    None
):
    core = waiting(1.0)
    core.lost("reset", 2.0)
    assert core.tick(2.5) == [Connect()]
    core.connected(2.6)
    out = core.tick(2.6 + ANSWER_TIMEOUT)
    assert "no answer in 10 s" in shown(out)[0] and core.phase == "reconnecting"
    assert Exit(1) not in out


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


def alerts_of(notice: str) -> list[str]:
    return [f"!!! {line}" for line in notice.splitlines() if line.strip()]


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
    assert alerts(out) == alerts_of(DEFAULT_CRISIS_NOTICE) and out[-1] == Exit(1)


def test_the_desks_own_crisis_notice_is_shown_unless_it_is_the_one_just_shown() -> None:
    core = waiting()
    core.lost("reset", 1.0)
    core.typed("I just want to die", 1.0)  # no connection: the built-in notice, at once
    same = core.received(DeskCrisis("d", DEFAULT_CRISIS_NOTICE), 1.1)
    assert shown(same) == []
    local = core.received(DeskCrisis("d", "Call 112 or the Samaritans: 116 123"), 1.2)
    assert shown(local) == ["!!! Call 112 or the Samaritans: 116 123"]


def test_a_frozen_desk_that_accepts_but_never_answers_is_given_up_on_from_the_first_loss() -> None:
    # found with the registry stopped (SIGSTOP): its kernel accepts each reconnection, the
    # join gets no answer, and each round started the grace period again, for ever
    core = waiting(0.0)
    core.lost("no answer from the help desk for 20 s", 10.0)
    now, said = 10.0, []
    for _ in range(1000):
        if core.phase == "done":
            break
        wake = core.next_wake()
        assert wake is not None
        now = max(now, wake)  # (the held-place refresh, due before the loss)
        out = core.tick(now)
        said += shown(out)
        if Connect() in out:
            said += shown(core.connected(now))
    assert now == 130.0  # the grace period, from the first loss
    assert "[Connected again.]" not in said
    silent = [line for line in said if "accepts the connection but does not answer" in line]
    assert len(silent) == 1 and "kept for 10" in silent[0]  # said once, with what is left
    assert said[-1] == "[Could not reach the help desk in time; your place was given up.]"


def test_a_desk_that_answers_a_later_rejoin_is_connected_again_and_the_grace_starts_anew() -> None:
    core = waiting(0.0)
    core.lost("reset", 10.0)
    assert core.tick(10.5) == [Connect()]
    core.connected(10.5)
    core.tick(10.5 + ANSWER_TIMEOUT)  # no answer: still the same loss
    assert core.phase == "reconnecting"
    while Connect() not in core.tick(wake := core.next_wake() or 0.0):
        pass  # (a held-place refresh came first)
    assert wake <= 10.5 + ANSWER_TIMEOUT + 4.0
    core.connected(wake)
    assert "[Connected again.]" in shown(core.received(queued(restored=True), wake + 0.1))
    assert core.phase == "waiting"
    # lost again later: a new loss, with the whole grace period
    assert "kept for 120 s" in shown(core.lost("reset", 200.0))[0]
    assert core.tick(200.5) == [Connect()]


def test_quit_while_a_rejoin_is_unanswered_gives_the_place_up_on_a_new_connection() -> None:
    core = waiting(0.0)
    core.lost("reset", 1.0)
    core.tick(1.5)
    core.connected(1.5)
    assert shown(core.typed(".queue", 2.0)) == [
        "[Reconnecting to the help desk; your place is kept.]"
    ]
    out = core.typed(".quit", 2.0)
    assert out == [Connect()] and core.phase == "leaving"
    bye = core.tick(4.0)
    assert "could not be told now" in shown(bye)[0] and bye[-1] == Exit(0)
