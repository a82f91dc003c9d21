"""OperatorCore (`ChatApp -o`) on its own: events in, actions out, time as a number."""

from __future__ import annotations

from peer.core.desk.duty import OperatorCore
from peer.core.desk.link import (
    ANSWER_TIMEOUT,
    Action,
    ClientSettings,
    Connection,
    DeskPhase,
    ExitDesk,
    Show,
)
from tests.desk.listed import Listed
from tests.desk.person_harness import sent, shown
from wire.base import IdMaker
from wire.desk.messages import (
    DeskEnd,
    DeskEnded,
    DeskLeave,
    DeskLine,
    DeskLook,
    DeskNotice,
    DeskOnDuty,
    DeskOperator,
    DeskRefused,
    DeskRoom,
    DeskServe,
    DeskSession,
)
from wire.desk.text import ALL_TOPICS, ENDED
from wire.refusals import RefusalCode

ALREADY = "Cannot go on duty: an operator named ann is already on duty."


def operator(name: str = "ann", *, prompt: bool = False) -> OperatorCore:
    settings = ClientSettings(leave_timeout=2.0, prompt=prompt)
    return Listed(OperatorCore(name, ("127.0.0.1", 4000), "key", IdMaker("o"), settings))


def lines(actions: list[Action]) -> list[tuple[str, str]]:
    """The text and session of each DeskLine sent."""
    return [(m.text, m.session) for m in sent(actions) if isinstance(m, DeskLine)]


def on_duty(now: float = 0.0, *, prompt: bool = False) -> OperatorCore:
    core = operator(prompt=prompt)
    core.start(now)
    core.connected(now)
    core.received(DeskOnDuty("d", "o-1", "ann", ALL_TOPICS, 0, 0), now)
    return core


def serving(now: float = 0.0, *, prompt: bool = False) -> OperatorCore:
    core = on_duty(now, prompt=prompt)
    core.received(DeskSession("d", "s1", "Tom", "07700900606", 5, "", 3, "", ()), now)
    return core


def test_a_bad_name_never_connects() -> None:
    out = operator("").start(0.0)
    assert out[-1] == ExitDesk(1) and "Cannot go on duty as ''" in shown(out)[0]


def test_an_unreachable_desk_exits_1() -> None:
    core = operator()
    assert core.start(0.0) == [Connection.OPEN]
    out = core.not_connected("Connection refused", 0.0)
    assert out == [
        Show("[Cannot reach the help desk at 127.0.0.1:4000 (Connection refused).]", "error"),
        ExitDesk(1),
    ]


def test_going_on_duty() -> None:
    core = operator()
    core.start(0.0)
    out = core.connected(0.0)
    assert out[0] == Show("desk> ", "prompt")
    [hello] = sent(out)
    assert isinstance(hello, DeskOperator) and (hello.name, hello.topics, hello.key) == (
        "ann",
        ALL_TOPICS,
        "key",
    )
    first = shown(core.received(DeskOnDuty("d", "o-1", "ann", (1, 3), 0, 0), 0.0))
    assert first[-1] == "[.help lists the commands.]"
    assert core.screen.topics == (1, 3)


def test_lines_go_to_the_person_served_and_the_prompt_names_them() -> None:
    core = on_duty()
    session = core.received(DeskSession("d", "s1", "Tom", "07700900606", 5, "", 3, "", ()), 0.0)
    assert session[-1] == Show("to Tom> ", "prompt")
    assert sent(core.typed("hello Tom", 2.0)) == [DeskLine("o-2", "", "hello Tom", "s1")]
    ended = core.received(DeskEnded("d", ENDED.format("Tom"), False, -1), 3.0)
    assert ended[-1] == Show("desk> ", "prompt")


def hand_over(core: OperatorCore, now: float) -> None:
    """Tom leaves and Ua is handed over, shown to the operator at `now`."""
    core.received(DeskEnded("d", ENDED.format("Tom"), False, -1), now)
    core.received(DeskSession("d", "s2", "Ua", "07700900607", 5, "", 3, "", ()), now)


def test_a_line_begun_for_the_person_before_is_held_however_long_it_takes_to_finish() -> None:
    # found by trying it: ann typed "thanks, " for Tom, Tom left, Ua was handed over, and
    # ann went on typing the rest of the sentence for 2.8 s, then Enter: it reached Ua
    core = serving(prompt=True)
    hand_over(core, 10.0)
    out = core.typed("thanks, and good luck with it all", 12.8, begun=9.5)
    assert not sent(out)
    assert shown(out) == [
        "[Not sent: you began this line before Ua was handed over to you. It is back in the "
        "prompt: Enter sends it to Ua, or clear it.]"
    ]
    assert Show("thanks, and good luck with it all", "typed") in out
    # put back after the notice named Ua: Enter sends it to Ua, and what follows goes too
    again = core.typed("thanks, and good luck with it all", 14.0, begun=12.8)
    assert lines(again) == [("thanks, and good luck with it all", "s2")]
    assert lines(core.typed("hello Ua", 14.1, begun=14.05)) == [("hello Ua", "s2")]


def test_enter_pressed_just_before_the_change_is_held_though_nothing_was_being_typed() -> None:
    # found by trying it: the line was typed whole before Ua came, Enter 5-15 ms after it;
    # the prompt was already empty, so nothing showed that a line was on its way
    core = serving()
    hand_over(core, 10.0)
    out = core.typed("bye Tom", 10.01, begun=9.99)
    assert not sent(out) and Show("bye Tom", "typed") not in out  # not a terminal: not put back
    assert shown(out) == [
        "[Not sent: this line was read before Ua was handed over to you; type it again to "
        "send it to Ua. The line was: bye Tom]"
    ]
    assert lines(core.typed("hi Ua", 10.5)) == [("hi Ua", "s2")]


def test_every_line_begun_before_the_change_is_held_and_none_begun_after() -> None:
    # a script that piped two lines for Tom: neither reaches Ua, whenever it is handled
    core = serving()
    hand_over(core, 10.0)
    assert not sent(core.typed("bye Tom", 10.01, begun=9.98))
    assert not sent(core.typed("take care", 10.02, begun=9.99))
    assert lines(core.typed("hi Ua", 10.03, begun=10.03)) == [("hi Ua", "s2")]


def test_an_end_crossing_the_persons_quit_does_not_end_the_next_session() -> None:
    # found by trying it: ann's .end crossed Tom's .quit and ended Ua's session, who had
    # waited for minutes
    core = serving()
    hand_over(core, 10.0)
    out = core.typed(".end", 10.2, begun=9.9)
    assert not sent(out) and Show(".end", "typed") not in out
    assert shown(out) == [
        "[.end not carried out: it was typed before Ua was handed over to you. .end again "
        "ends the session with Ua.]"
    ]
    assert sent(core.typed(".room", 10.3))  # commands that name no session go on
    assert [type(m) for m in sent(core.typed(".end", 10.4))] == [DeskEnd]


def test_a_piped_reply_read_after_the_hand_over_was_shown_reaches_the_person() -> None:
    # found by trying it: a piped operator was handed Ann, saw "Ann Able: hello operator"
    # and a notice of someone joining the waiting room, answered at once, and was told the
    # reply "came as Ann Able was handed over"; it had been read after all of them
    core = operator()
    core.start(0.0)
    core.connected(0.0)
    core.received(DeskOnDuty("d", "o-1", "ann", ALL_TOPICS, 0, 0), 0.0)
    core.received(DeskSession("d", "s1", "Ann Able", "07700900606", 6, "", 3, "", ()), 10.0)
    core.received(DeskLine("d", "Ann Able", "hello operator", "s1"), 10.3)
    core.received(DeskNotice("d", "Tom Baker is waiting (6 Other); 1 waiting in all."), 10.4)
    out = core.typed("hello Ann", 10.6)  # read as it is handled
    assert lines(out) == [("hello Ann", "s1")] and not shown(out)


def test_a_session_ending_with_nobody_next_holds_nothing_back() -> None:
    # the line names no session: the desk says it reached nobody
    core = serving()
    core.received(DeskEnded("d", ENDED.format("Tom"), False, -1), 10.0)
    assert lines(core.typed("thanks, bye", 10.1, begun=9.0)) == [("thanks, bye", "")]


def test_a_connection_lost_before_going_on_duty_ends_the_run() -> None:
    core = operator()
    core.start(0.0)
    core.connected(0.0)
    out = core.lost("reset", 0.0)
    assert out[-1] == ExitDesk(1) and "was lost (reset)" in shown(out)[0]


def test_a_connection_lost_on_duty_ends_the_session_and_reconnects_with_backoff() -> None:
    core = serving()
    out = core.lost("reset", 10.0)
    assert out[0] == Show("desk> ", "prompt")
    # the desk may hand Tom to another operator at once, or keep him for this one after a
    # restart: neither is certain here, so each is said as what happens in its case
    assert shown(out)[0] == (
        "[The connection to the help desk was lost (reset); your session with Tom was cut "
        "short. If the help desk stopped, Tom is kept for you once it is restarted, and your "
        "conversation resumes when you are both back; if not, Tom is back at the front of the "
        "waiting room, for the next free operator. Reconnecting; you are back on duty as soon "
        "as it answers (.quit leaves).]"
    )
    assert shown(core.typed("still there?", 10.1)) == ["[Not sent: reconnecting to the help desk.]"]
    times = []
    now = 10.0
    for _ in range(5):
        wake = core.next_wake()
        assert wake is not None
        times.append(round(wake - now, 3))
        now = wake
        assert core.tick(now) == [Connection.OPEN]
        core.not_connected("refused", now)
    assert times == [0.5, 1.0, 2.0, 4.0, 4.0]
    [hello] = sent(core.connected(now))
    assert isinstance(hello, DeskOperator)
    back = core.received(DeskOnDuty("d", hello.id, "ann", ALL_TOPICS, 0, 0), now)
    assert "[.help lists the commands.]" not in shown(back)  # said once per run
    core.lost("reset", now)
    assert core.next_wake() == now + 0.5  # on duty again: the backoff starts afresh


def test_already_on_duty_while_reconnecting_is_said_once_and_tried_again() -> None:
    core = on_duty()
    core.lost("reset", 0.0)
    for now in (0.5, 1.5):
        core.tick(now)
        core.connected(now)
        out = core.received(DeskRefused("d", "o-3", ALREADY, RefusalCode.ALREADY_ON_DUTY), now)
        assert ExitDesk(1) not in out
        core.lost("the help desk closed the connection", now)
        assert shown(out) == ([f"[{ALREADY} Trying again.]"] if now == 0.5 else [])
    assert core.link.phase is DeskPhase.DUTY and core.next_wake() is not None


def test_a_refusal_when_not_reconnecting_ends_the_run() -> None:
    core = operator()
    core.start(0.0)
    core.connected(0.0)
    out = core.received(DeskRefused("d", "o-1", "Wrong operator key."), 0.0)
    assert out[-1] == ExitDesk(1)


def test_going_off_duty_waits_for_the_desk() -> None:
    core = serving()
    out = core.typed(".quit", 1.0)
    assert sent(out) == [DeskLeave("o-2")]
    assert core.next_wake() == 3.0
    bye = core.received(DeskEnded("d", "You went off duty.", False, -1), 1.2)
    assert bye[-1] == ExitDesk(0)


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
    assert core.tick(3.0) == [Show("[You are off duty.]"), ExitDesk(0)]
    cut = on_duty()
    cut.lost("reset", 0.0)
    assert cut.typed(".quit", 0.1)[-2:] == [Show("[You are off duty.]"), ExitDesk(0)]


def test_input_ending_before_the_connection_is_up_leaves_once_it_is() -> None:
    core = operator()
    core.start(0.0)
    assert core.typed(".room", 0.0) == []
    assert core.end_of_input(0.0) == []
    out = core.connected(0.1)
    assert [type(m) for m in sent(out)] == [DeskOperator, DeskLook, DeskLeave]
    refused = core.received(DeskRefused("d", "o-1", "Wrong operator key."), 0.2)
    assert refused[-1] == ExitDesk(1)  # the wrong key is said, not just "off duty"


def test_serve_typed_before_going_on_duty_chooses_the_topics_gone_on_duty_for() -> None:
    # found by trying it: `.serve 5` typed as `ChatApp -o` started took effect only after
    # someone of another topic had been handed over (with their full number)
    core = operator()
    core.start(0.0)
    assert core.typed(".serve 5", 0.0) == []
    out = core.connected(0.1)
    [hello] = sent(out)  # no DeskServe after it: the choice went with going on duty
    assert isinstance(hello, DeskOperator) and hello.topics == (5,)


def test_a_line_too_long_is_put_back_in_the_prompt_or_quoted() -> None:
    # found by trying it: a line over 2000 characters was refused and thrown away
    long = "x" * 2500
    for prompt in (True, False):
        core = on_duty(prompt=prompt)
        core.received(DeskSession("d", "s1", "Tom", "07700900606", 5, "", 3, "", ()), 0.0)
        out = core.typed(long, 5.0)
        assert not sent(out)
        if prompt:
            assert out[-1] == Show(long, "typed")
            assert shown(out) == [
                "[Not sent: the line has 2500 characters, and at most 2000 go in one. It is "
                "back in the prompt: shorten or split it, then press Enter.]"
            ]
        else:
            assert not [a for a in out if isinstance(a, Show) and a.style == "typed"]
            assert shown(out)[0].endswith(f"It began: {'x' * 60}...]")


def piped() -> OperatorCore:
    """An operator whose input is a pipe or a file (`ChatApp -o ... < script`)."""
    core = Listed(
        OperatorCore(
            "ann", ("127.0.0.1", 4000), "key", IdMaker("o"), ClientSettings(serve_when_asked=True)
        )
    )
    core.start(0.0)
    return core


def test_a_piped_operator_takes_nobody_until_its_input_says_serve() -> None:
    # found by trying it: `printf '.room\n' | ChatApp -o ann ...` that connected before its
    # input ended was handed a person (full number and all) and left them at once
    core = piped()
    core.typed(".room", 0.0)
    out = core.connected(0.1)
    on, room = sent(out)
    assert isinstance(on, DeskOperator) and on.topics == ()
    assert isinstance(room, DeskLook)
    assert shown(out) == [
        "[Your input is not a terminal, so you take nobody until it says which topics to "
        "serve: .serve all, or .serve 1,3.]"
    ]
    core.received(DeskOnDuty("d", on.id, "ann", (), 0, 0), 0.2)
    [serve] = sent(core.typed(".serve all", 0.3))  # asked: it serves from now on
    assert isinstance(serve, DeskServe) and serve.topics == ALL_TOPICS
    core.received(DeskOnDuty("d", serve.id, "ann", ALL_TOPICS, 0, 0), 0.4)
    # a lost connection comes back on duty for what it chose, without a word of the rule
    core.lost("reset", 1.0)
    core.tick(core.next_wake() or 0.0)
    again = core.connected(2.0)
    [hello] = sent(again)
    assert isinstance(hello, DeskOperator) and hello.topics == ALL_TOPICS
    assert not shown(again)


def test_a_piped_operator_whose_input_says_serve_first_serves_once_on_duty() -> None:
    core = piped()
    core.typed(".serve 2,3", 0.0)
    out = core.connected(0.1)
    [hello] = sent(out)  # nobody can be handed over before the desk says it is on duty
    assert isinstance(hello, DeskOperator) and hello.topics == () and not shown(out)
    duty = core.received(DeskOnDuty("d", hello.id, "ann", (), 0, 0), 0.2)
    [serve] = sent(duty)
    assert isinstance(serve, DeskServe) and serve.topics == (2, 3)
    # the answer to the `.serve` says what it serves; "you take nobody" would be untrue
    assert shown(duty) == []
    assert shown(core.received(DeskOnDuty("d", serve.id, "ann", (2, 3), 0, 0), 0.3)) == [
        "[On duty as ann, serving topics 2 Getting Differentiated by School, 3 Weak in "
        "Academics; 0 waiting.]",
        "[.help lists the commands.]",
    ]


def test_a_piped_operator_whose_input_ends_before_on_duty_serves_nobody_in_any_race() -> None:
    # found by trying it: `printf '.serve all\nhello Hal\n' | ChatApp -o xo ...` took Hal
    # and dropped him at once in 2 runs of 3: the lines came after the connection was up,
    # the end of input after the `.serve` had gone
    for serve_early in (True, False):
        core = piped()
        if serve_early:
            core.typed(".serve all", 0.0)
        out = core.connected(0.1)
        if not serve_early:
            out += core.typed(".serve all", 0.15)
        out += core.typed("hello Hal", 0.15)
        [hello] = sent(out)
        assert isinstance(hello, DeskOperator) and hello.topics == ()
        ended = core.end_of_input(0.16)
        assert [type(m) for m in sent(ended)] == [DeskLeave]
        assert shown(ended) == [
            "[Not carried out: .serve all (input ended before you were on duty).]"
        ]
        # the desk's answer to the DeskOperator comes after: no DeskServe goes
        assert not sent(core.received(DeskOnDuty("d", hello.id, "xo", (), 1, 1), 0.2))


def test_lines_piped_before_going_on_duty_are_each_carried_out_or_said_not_to_be() -> None:
    # found by trying it: `printf '.room\nhello nobody\n.end\n' | ChatApp -o ...` printed
    # nothing of any of them
    core = operator()
    core.start(0.0)
    for line in (".room", "hello nobody", ".end", ".serve 5"):
        assert core.typed(line, 0.0) == []
    assert core.end_of_input(0.0) == []
    out = core.connected(0.1)
    on, room, leave = sent(out)
    # on duty for no topic: nobody is handed over only to be left at once
    assert isinstance(on, DeskOperator) and on.topics == ()
    assert isinstance(room, DeskLook) and isinstance(leave, DeskLeave)
    assert shown(out) == [
        "[Not carried out: .serve 5 (input ended before you were on duty).]",
        "[Not sent: it was typed before you were on duty, to nobody: hello nobody]",
        "[.end not carried out: it was typed before you were on duty.]",
    ]
    core.received(DeskOnDuty("d", on.id, "ann", (), 0, 0), 0.2)
    answer = core.received(DeskRoom("d", room.id, ()), 0.2)
    assert shown(answer) == ["[The waiting room is empty.]"]  # shown though leaving
    assert core.received(DeskEnded("d", "You are off duty.", False, -1), 0.3)[-1] == ExitDesk(0)


def test_an_operator_given_no_answer_gives_up() -> None:
    # found by trying it: `ChatApp -o` pointed at something that is not a registry waited
    # silently for ever
    core = operator()
    core.start(0.0)
    core.connected(1.0)
    assert core.next_wake() == 1.0 + ANSWER_TIMEOUT
    out = core.tick(1.0 + ANSWER_TIMEOUT)
    assert out == [
        Show(
            "[No answer from the help desk at 127.0.0.1:4000 in 10 s: is that the address "
            "and port of a ChatApp registry?]",
            "error",
        ),
        ExitDesk(1),
    ]


def test_an_operator_reconnecting_to_a_silent_desk_tries_again() -> None:
    core = on_duty()
    assert core.tick(ANSWER_TIMEOUT - 1) == []  # it answered (and is not silent yet)
    core.lost("reset", 20.0)
    assert core.tick(20.5) == [Connection.OPEN]
    core.connected(20.6)
    out = core.tick(20.6 + ANSWER_TIMEOUT)
    assert ExitDesk(1) not in out and core.next_wake() is not None
    assert core.tick(core.next_wake() or 0.0) == [Connection.OPEN]
