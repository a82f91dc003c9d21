"""OperatorCore (`ChatApp -o`) on its own: events in, actions out, time as a number."""

from __future__ import annotations

from peer.desk_actions import Action, Connect, Exit, Send, SetPrompt, Show, TakeTyped
from peer.desk_duty import OperatorCore
from wire.desk import (
    DeskEnded,
    DeskLeave,
    DeskLine,
    DeskOnDuty,
    DeskOperator,
    DeskRefused,
    DeskRoomRequest,
    DeskSession,
)
from wire.desk_text import ALL_TOPICS
from wire.reliable import IdMaker

ALREADY = "Cannot go on duty: an operator named ann is already on duty."


def shown(actions: list[Action]) -> list[str]:
    return [a.line for a in actions if isinstance(a, Show)]


def sent(actions: list[Action]) -> list[object]:
    return [a.message for a in actions if isinstance(a, Send)]


def operator(name: str = "ann") -> OperatorCore:
    return OperatorCore(name, "127.0.0.1", 4000, "key", IdMaker("o"), leave_timeout=2.0)


def on_duty(now: float = 0.0) -> OperatorCore:
    core = operator()
    core.start(now)
    core.connected(now)
    core.received(DeskOnDuty("d", "o-1", "ann", ALL_TOPICS, 0), now)
    return core


def serving(now: float = 0.0) -> OperatorCore:
    core = on_duty(now)
    core.received(DeskSession("d", "s1", "Tom", "07700900606", 5, "", 3), now)
    return core


def test_a_bad_name_never_connects() -> None:
    out = operator("").start(0.0)
    assert out[-1] == Exit(1) and "Cannot go on duty as ''" in shown(out)[0]


def test_an_unreachable_desk_exits_1() -> None:
    core = operator()
    assert core.start(0.0) == [Connect()]
    out = core.not_connected("Connection refused", 0.0)
    assert out == [
        Show("[Cannot reach the help desk at 127.0.0.1:4000 (Connection refused).]", "error"),
        Exit(1),
    ]


def test_going_on_duty() -> None:
    core = operator()
    core.start(0.0)
    out = core.connected(0.0)
    assert out[0] == SetPrompt("desk> ")
    [hello] = sent(out)
    assert isinstance(hello, DeskOperator) and (hello.name, hello.topics, hello.key) == (
        "ann",
        ALL_TOPICS,
        "key",
    )
    first = shown(core.received(DeskOnDuty("d", "o-1", "ann", (1, 3), 0), 0.0))
    assert first[-1] == "[.help lists the commands.]"
    assert core.topics == (1, 3)


def test_lines_go_to_the_person_served_and_the_prompt_names_them() -> None:
    core = on_duty()
    session = core.received(DeskSession("d", "s1", "Tom", "07700900606", 5, "", 3), 0.0)
    assert session[-2:] == [TakeTyped(), SetPrompt("to Tom> ")]
    assert sent(core.typed("hello Tom", 0.0)) == [DeskLine("o-2", "", "hello Tom", "s1")]
    ended = core.received(DeskEnded("d", "Tom ended the session.", False, -1), 0.0)
    assert ended[-2:] == [TakeTyped(), SetPrompt("desk> ")]


def test_what_was_typed_for_the_last_session_is_shown_unsent() -> None:
    core = serving()
    assert core.typed_aside("  ", 0.0) == []
    assert shown(core.typed_aside("half a thought", 0.0)) == [
        "[Not sent (typed for the session before): half a thought]"
    ]


def test_the_rest_of_a_line_cut_by_a_change_of_session_is_not_given_to_the_next_person() -> None:
    # found by trying it: ann typed "thanks, " for Te, Te left, Ua was handed over, and the
    # "bye" ann went on typing before she could see it, then Enter, went to Ua
    core = serving()
    core.received(DeskEnded("d", "Tom ended the session.", False, -1), 10.0)
    core.typed_aside("thanks, ", 10.0)
    core.received(DeskSession("d", "s2", "Ua", "07700900607", 5, "", 3), 10.0)
    out = core.typed("bye", 10.4)
    assert shown(out) == ["[Not sent (typed for the session before): bye]"] and not sent(out)
    out = core.typed(".end", 10.6)
    assert not sent(out)
    assert shown(out) == [
        "[.end not carried out: the session changed just now; .end again ends this one.]"
    ]
    assert sent(core.typed(".room", 10.7))  # commands that name no session go on
    assert sent(core.typed("hello Ua", 11.6)) == [DeskLine("o-5", "", "hello Ua", "s2")]


def test_a_change_of_session_while_nothing_is_typed_holds_nothing_back() -> None:
    core = serving()
    core.received(DeskEnded("d", "Tom ended the session.", False, -1), 10.0)
    assert core.typed_aside("", 10.0) == []
    core.received(DeskSession("d", "s2", "Ua", "07700900607", 5, "", 3), 10.0)
    assert sent(core.typed("hi Ua", 10.1)) == [DeskLine("o-2", "", "hi Ua", "s2")]


def test_a_connection_lost_before_going_on_duty_ends_the_run() -> None:
    core = operator()
    core.start(0.0)
    core.connected(0.0)
    out = core.lost("reset", 0.0)
    assert out[-1] == Exit(1) and "was lost (reset)" in shown(out)[0]


def test_a_connection_lost_on_duty_ends_the_session_and_reconnects_with_backoff() -> None:
    core = serving()
    out = core.lost("reset", 10.0)
    assert out[:2] == [TakeTyped(), SetPrompt("desk> ")]
    assert "the session has ended and the person waits first in line again" in shown(out)[0]
    assert shown(core.typed("still there?", 10.1)) == ["[Not sent: reconnecting to the help desk.]"]
    times = []
    now = 10.0
    for _ in range(5):
        wake = core.next_wake()
        assert wake is not None
        times.append(round(wake - now, 3))
        now = wake
        assert core.tick(now) == [Connect()]
        core.not_connected("refused", now)
    assert times == [0.5, 1.0, 2.0, 4.0, 4.0]
    [hello] = sent(core.connected(now))
    assert isinstance(hello, DeskOperator)
    back = core.received(DeskOnDuty("d", hello.id, "ann", ALL_TOPICS, 0), now)
    assert "[.help lists the commands.]" not in shown(back)  # said once per run
    core.lost("reset", now)
    assert core.next_wake() == now + 0.5  # on duty again: the backoff starts afresh


def test_already_on_duty_while_reconnecting_is_said_once_and_tried_again() -> None:
    core = on_duty()
    core.lost("reset", 0.0)
    for now in (0.5, 1.5):
        core.tick(now)
        core.connected(now)
        out = core.received(DeskRefused("d", "o-3", ALREADY), now)
        assert Exit(1) not in out
        core.lost("the help desk closed the connection", now)
        assert shown(out) == ([f"[{ALREADY} Trying again.]"] if now == 0.5 else [])
    assert core.phase == "duty" and core.next_wake() is not None


def test_a_refusal_when_not_reconnecting_ends_the_run() -> None:
    core = operator()
    core.start(0.0)
    core.connected(0.0)
    out = core.received(DeskRefused("d", "o-1", "Wrong operator key."), 0.0)
    assert out[-1] == Exit(1)


def test_going_off_duty_waits_for_the_desk() -> None:
    core = serving()
    out = core.typed(".quit", 1.0)
    assert sent(out) == [DeskLeave("o-2")]
    assert core.next_wake() == 3.0
    bye = core.received(DeskEnded("d", "You went off duty.", False, -1), 1.2)
    assert bye[-1] == Exit(0)


def test_input_ending_with_nothing_typed_goes_on_duty_for_no_topic_and_leaves() -> None:
    core = operator()
    core.start(0.0)
    assert core.end_of_input(0.0) == []
    on, leave = sent(core.connected(0.1))
    # the key is checked, but no person is taken only to be left at once
    assert isinstance(on, DeskOperator) and on.topics == () and isinstance(leave, DeskLeave)


def test_going_off_duty_without_an_answer_or_a_connection() -> None:
    core = on_duty()
    core.end_of_input(1.0)
    assert core.tick(3.0) == [Show("[You are off duty.]"), Exit(0)]
    cut = on_duty()
    cut.lost("reset", 0.0)
    assert cut.typed(".quit", 0.1)[-2:] == [Show("[You are off duty.]"), Exit(0)]


def test_input_ending_before_the_connection_is_up_leaves_once_it_is() -> None:
    core = operator()
    core.start(0.0)
    assert core.typed(".room", 0.0) == []
    assert core.end_of_input(0.0) == []
    out = core.connected(0.1)
    assert [type(m) for m in sent(out)] == [DeskOperator, DeskRoomRequest, DeskLeave]
    refused = core.received(DeskRefused("d", "o-1", "Wrong operator key."), 0.2)
    assert refused[-1] == Exit(1)  # the wrong key is said, not just "off duty"
