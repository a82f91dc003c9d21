"""The form of `ChatApp -d` (peer.core.desk.typed): its questions, the answers taken or
asked again, the menu's tries, and a held place taken back with its topic."""

from __future__ import annotations

from person_harness import PHONE, person, queued, sent, shown, taking_back, through_form

from peer.core.desk.link import Connection, ExitDesk, FindPlace, KeepPlace, Show
from wire.desk.messages import DeskJoin, DeskLine, DeskServed
from wire.desk.render import YOUR_TURN

FOR_THE_FORM = (
    "[Not sent: “5” was typed for the form, which asks nothing more: the topic of your "
    "earlier place (5 Financial Suggestions) is kept.]"
)


def test_the_form_asks_name_number_and_topic_then_joins() -> None:
    core = person()
    start = core.start(0.0)
    assert "help desk at 127.0.0.1:4000" in shown(start)[0]
    assert start[-2:] == [Show("Name:", "question"), Connection.PROBE]
    assert core.typed("  Maria ", 0.0) == [Show("Registered mobile number:", "question")]
    assert core.typed("07700 900606", 0.0) == [FindPlace(PHONE)]
    menu = core.place_found(None, 0.0)
    assert any("5. Financial Suggestions" in line for line in shown(menu))
    assert menu[-1] == Show("Topic (1-6):", "question")
    assert core.typed("5", 0.0) == [Show("> ", "prompt"), Connection.OPEN]
    assert core.next_wake() is None
    [join] = sent(core.connected(0.0))
    assert join == DeskJoin("p-1", "Maria", PHONE, 5, "", "", join.wire)  # type: ignore[attr-defined]


def test_a_wrong_answer_is_said_and_the_question_asked_again() -> None:
    core = person()
    core.start(0.0)
    bad_name = core.typed("", 0.0)
    assert len(shown(bad_name)) == 1 and bad_name[-1] == Show("Name:", "question")
    core.typed("Maria", 0.0)
    bad_phone = core.typed("12ab", 0.0)
    assert "digits" in shown(bad_phone)[0] and bad_phone[-1] == Show(
        "Registered mobile number:", "question"
    )


def test_three_wrong_topics_close_the_client() -> None:
    core = person()
    through_form(core, topic="9")
    assert core.typed("  ", 0.0) == [Show("Topic (1-6):", "question")]  # an empty Enter is no try
    second = core.typed("x", 0.0)
    assert shown(second)[0].endswith("1 try left.]") and second[-1] == Show(
        "Topic (1-6):", "question"
    )
    third = core.typed("0", 0.0)
    assert "No valid topic after 3 tries" in shown(third)[-1]
    assert third[-1] == ExitDesk(1)
    assert core.typed("5", 0.0) == []  # the run is over


def test_topic_3_asks_for_a_description() -> None:
    core = person()
    through_form(core, topic="3")
    assert core.typed("", 0.0)[-1] == Show("Description:", "question")
    assert core.typed("Maths is hard", 0.0) == [Show("> ", "prompt"), Connection.OPEN]
    [join] = sent(core.connected(0.0))
    assert isinstance(join, DeskJoin) and join.description == "Maths is hard"


def test_quit_during_the_form_says_bye() -> None:
    core = person()
    core.start(0.0)
    assert core.typed(".quit", 0.0) == [Show("[Bye.]"), ExitDesk(0)]
    other = person()
    other.start(0.0)
    other.probed("", 0.0)
    assert other.end_of_input(0.0) == [Show("[Bye.]"), ExitDesk(0)]


def test_input_ended_before_the_probe_answers_waits_for_it() -> None:
    reachable = person()
    reachable.start(0.0)
    assert reachable.end_of_input(0.0) == []
    assert reachable.probed("", 0.1) == [Show("[Bye.]"), ExitDesk(0)]
    down = person()
    down.start(0.0)
    assert down.end_of_input(0.0) == []
    out = down.probed("Connection refused", 0.1)
    assert "Cannot reach the help desk" in shown(out)[0]
    assert out[-1] == ExitDesk(1)


def test_a_kept_place_is_asked_back_with_its_token() -> None:
    core = person()
    through_form(core, kept=KeepPlace("old-token", 2, "", 120.0))
    [join] = sent(core.connected(0.0))
    assert isinstance(join, DeskJoin) and (join.token, join.topic) == ("old-token", 2)
    again = core.received(queued(restored=False), 0.0)
    assert "[Your earlier place could not be kept, so you join the waiting room again.]" in (
        shown(again)
    )
    assert KeepPlace("tok", 2, "", 120.0) in again  # the new token for the kept topic


def test_a_command_during_the_form_is_neither_an_answer_nor_a_try() -> None:
    core = person()
    through_form(core, topic=".queue")
    assert core.typed(".help", 0.0)[-1] == Show("Topic (1-6):", "question")
    # neither command used a try: a wrong topic now is the first of three
    assert shown(core.typed("9", 0.0))[0].endswith("2 tries left.]")
    core.typed("3", 0.0)
    out = core.typed(".queue", 0.0)
    assert shown(out) == [
        "[.queue works once you are waiting; answer the question first (.quit leaves).]"
    ]
    assert out[-1] == Show("Description:", "question")
    assert shown(core.typed(".NET will not install", 0.0)) == [
        "[.NET is no command; to answer with it, type ..NET (.quit leaves).]"
    ]
    core.typed("..NET will not install", 0.0)  # two dots: an answer that starts with one
    [join] = sent(core.connected(0.0))
    assert isinstance(join, DeskJoin) and join.description == ".NET will not install"


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
    assert shown(served)[0].startswith(f"[{YOUR_TURN}")
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
