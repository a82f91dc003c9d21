"""After a registry restart, each conversation resumes with the operator who was serving it
(docs/DESK.md, "A registry that stops without closing the desk"): the places kept on disk
name that operator, and the two are kept for each other for the grace period."""

from __future__ import annotations

from desk_harness import Desk

from registry.core.desk.limits import GRACE, RECLAIM_WINDOW, RESTART_SETTLE
from wire.desk.messages import (
    EST_KEPT,
    DeskNotice,
    DeskOnDuty,
    DeskPosition,
    DeskQueued,
    DeskRoom,
    DeskServed,
    DeskSession,
)
from wire.desk.render import render_operator
from wire.desk.text import format_estimate


def two_sessions() -> tuple[Desk, dict[str, str]]:
    """ann serving Dan and bob serving Eve, Carol waiting; and their tokens."""
    desk = Desk()
    desk.operator("ann", "ann")
    desk.join("dan", "Dan")
    desk.operator("bob", "bob")
    desk.join("eve", "Eve")
    desk.join("carol", "Carol")
    assert desk.last("ann", DeskSession).name == "Dan"
    assert desk.last("bob", DeskSession).name == "Eve"
    return desk, {c: desk.token(c) for c in ("dan", "eve", "carol")}


def restarted(before: Desk, later: float = 0.0) -> Desk:
    """The desk started again after `before` stopped without closing (kill -9), `later`
    seconds after the stop (its clock reads as `before`'s did then)."""
    after = Desk()
    after.now = before.now + later
    after.restore(list(before.kept), after.now)
    return after


def back(desk: Desk, conn: str, name: str, token: str) -> None:
    desk.join(conn, name, token=token)
    assert desk.last(conn, DeskQueued).restored


def notices(desk: Desk, conn: str) -> list[str]:
    return [m.text for m in desk.of(conn, DeskNotice)]


def test_the_places_kept_name_who_was_serving() -> None:
    before, _ = two_sessions()
    assert [(p.name, p.operator) for p in before.kept] == [
        ("Dan", "ann"),
        ("Eve", "bob"),
        ("Carol", ""),
    ]


def test_each_conversation_resumes_with_its_operator_whoever_is_back_first() -> None:
    before, tokens = two_sessions()
    after = restarted(before)
    # bob is back first and dan before eve: the line alone would hand dan to bob
    after.operator("bob", "bob")
    back(after, "dan", "Dan", tokens["dan"])
    back(after, "eve", "Eve", tokens["eve"])
    assert notices(after, "dan") == []  # its estimate says the conversation resumes
    back(after, "carol", "Carol", tokens["carol"])
    assert after.last("eve", DeskServed).operator == "bob"
    assert not after.of("dan", DeskServed) and not after.of("carol", DeskServed)
    after.operator("ann", "ann")
    assert after.last("dan", DeskServed).operator == "ann"
    assert after.last("ann", DeskSession).name == "Dan"
    assert notices(after, "ann") == [
        "The help desk was restarted; your conversation with Dan resumes."
    ]
    assert (
        notices(after, "dan")[-1]
        == "The help desk was restarted; your conversation with ann resumes."
    )
    assert notices(after, "bob")[-1] == (
        "The help desk was restarted; your conversation with Eve resumes."
    )
    # told before the session itself
    kinds = [type(m) for m in after.inbox["ann"]]
    assert kinds.index(DeskNotice) < kinds.index(DeskSession)
    assert [p.name for p in after.queue.state.waiting] == ["Carol"]


def test_an_operator_back_first_takes_nobody_else_while_its_person_may_come_back() -> None:
    before, tokens = two_sessions()
    after = restarted(before)
    after.operator("ann", "ann")
    assert notices(after, "ann") == [
        "The help desk was restarted while you served Dan; your conversation resumes as soon "
        "as Dan is back (you take nobody else until then, for up to 15 s)."
    ]
    back(after, "carol", "Carol", tokens["carol"])
    after.advance(RESTART_SETTLE + 5)  # Dan's place is kept for RECLAIM_WINDOW
    assert not after.of("ann", DeskSession) and not after.of("carol", DeskServed)
    back(after, "dan", "Dan", tokens["dan"])
    assert after.last("ann", DeskSession).name == "Dan"
    after.end("ann")
    assert after.last("ann", DeskSession).name == "Carol"  # then the usual rules


def test_a_person_who_never_comes_back_frees_their_operator_once_their_place_is_given_up() -> None:
    # a place kept across a restart is given up when nobody takes it back in RECLAIM_WINDOW
    before, tokens = two_sessions()
    after = restarted(before)
    after.operator("ann", "ann")
    back(after, "carol", "Carol", tokens["carol"])
    after.advance(RECLAIM_WINDOW - 1)
    assert not after.of("ann", DeskSession)
    after.advance(1)
    assert "Dan did not come back; you take the next person." in notices(after, "ann")
    assert after.last("ann", DeskSession).name == "Carol"


def test_a_person_whose_operator_never_comes_back_goes_to_the_next_after_the_grace() -> None:
    before, tokens = two_sessions()
    after = restarted(before)
    after.operator("cy", "cy")
    back(after, "dan", "Dan", tokens["dan"])
    after.advance(GRACE - 1)
    assert not after.of("dan", DeskServed)
    after.advance(1)
    assert "ann is not back; the next free operator will serve you." in notices(after, "dan")
    assert after.last("dan", DeskServed).operator == "cy"
    assert after.last("cy", DeskSession).name == "Dan"


def test_who_was_serving_is_kept_across_a_second_restart() -> None:
    before, tokens = two_sessions()
    after = restarted(before)
    after.join("fay", "Fay")  # a change of who holds a place: kept again
    assert [(p.name, p.operator) for p in after.kept][:2] == [("Dan", "ann"), ("Eve", "bob")]
    again = restarted(after)
    again.operator("ann", "ann")
    back(again, "dan", "Dan", tokens["dan"])
    again.advance(RESTART_SETTLE)  # the others kept may come back first
    assert again.last("dan", DeskServed).operator == "ann"


def test_the_session_cut_short_by_the_stop_counts_as_served_not_waited() -> None:
    # found by trying it: dan, served for 15 s when the registry crashed, was shown to ann
    # after the restart as having waited 22 s
    desk = Desk()
    desk.join("dan", "Dan")
    desk.advance(7)  # waits 7 s
    desk.operator("ann", "ann")
    assert desk.last("ann", DeskSession).waited == 7
    token = desk.token("dan")
    desk.advance(15)  # served 15 s, then kill -9
    [kept] = desk.kept
    assert kept.serving_since == 7.0
    after = restarted(desk, later=3)
    back(after, "dan", "Dan", token)
    after.advance(2)
    after.operator("ann", "ann")
    assert after.last("ann", DeskSession).waited == 9  # 7 s before, 2 s after the restart
    assert after.logs[-1].endswith("(topic 2, waited 9 s)")


def test_a_kept_operator_that_stops_serving_the_topic_still_resumes_its_conversation() -> None:
    # `.serve` chooses who is taken next; it never ends a conversation in progress, nor one
    # the restart cut
    before, tokens = two_sessions()
    after = restarted(before)
    after.operator("ann", "ann")
    back(after, "eve", "Eve", tokens["eve"])
    back(after, "carol", "Carol", tokens["carol"])
    after.operator("cy", "cy")
    after.advance(RESTART_SETTLE)
    assert after.last("cy", DeskSession).name == "Carol"
    after.serve("ann", (3,))  # while Dan's client is still reconnecting
    assert not any("resume" in text and "not" in text for text in notices(after, "ann"))
    after.end("cy")
    back(after, "dan", "Dan", tokens["dan"])
    assert after.last("dan", DeskServed).operator == "ann"
    assert after.last("ann", DeskSession).name == "Dan"


def test_an_operator_back_serving_no_topics_resumes_the_conversation_it_was_in() -> None:
    # found by trying it: ann typed `.serve none` while serving Dan (to take nobody after
    # him); the registry was killed; both came back, and waited for each other in vain
    before, tokens = two_sessions()
    before.serve("ann", ())
    after = restarted(before)
    after.operator("ann", "ann", ())  # the client comes back with what `.serve` chose
    assert "resumes as soon as Dan is back" in notices(after, "ann")[-1]
    back(after, "dan", "Dan", tokens["dan"])
    after.advance(RESTART_SETTLE)
    assert after.last("dan", DeskServed).operator == "ann"
    assert notices(after, "dan")[-1] == (
        "The help desk was restarted; your conversation with ann resumes."
    )
    # and once it ends, ann takes nobody: it serves no topic
    back(after, "carol", "Carol", tokens["carol"])
    after.end("ann")
    assert not after.of("carol", DeskServed)
    assert not any("is not back" in text for text in notices(after, "dan"))


def test_a_person_kept_for_an_operator_back_for_other_topics_is_served_by_it() -> None:
    before, tokens = two_sessions()
    after = restarted(before)
    back(after, "dan", "Dan", tokens["dan"])
    after.operator("cy", "cy")
    after.advance(RESTART_SETTLE)
    assert not after.of("dan", DeskServed)  # kept for ann
    after.operator("ann", "ann", (3,))  # back, but for topic 3 only
    assert after.last("dan", DeskServed).operator == "ann"


def test_a_kept_operator_changing_topics_but_keeping_its_persons_goes_on_waiting() -> None:
    before, tokens = two_sessions()
    after = restarted(before)
    after.operator("ann", "ann")
    after.serve("ann", (2, 3))  # Dan's topic is 2: still kept for each other
    assert not any("no longer serve" in line for line in notices(after, "ann"))
    back(after, "dan", "Dan", tokens["dan"])
    after.advance(RESTART_SETTLE)
    assert after.last("dan", DeskServed).operator == "ann"


def test_places_kept_for_an_absent_operator_are_not_counted_shown_or_estimated_as_free() -> None:
    # found by trying it: cat came on duty and was told "2 waiting" though both were kept
    # for other operators; `.room` did not say so; Dan was told "An operator for your topic
    # is on duty now; estimated wait: 0-2 min"
    before, tokens = two_sessions()
    after = restarted(before)
    back(after, "dan", "Dan", tokens["dan"])
    back(after, "eve", "Eve", tokens["eve"])
    queued = after.last("dan", DeskQueued)
    assert (queued.operators, queued.estimate.kind, queued.estimate.high) == (
        1,
        EST_KEPT,
        int(GRACE),
    )
    assert format_estimate(*queued.estimate) == (
        "your conversation resumes as soon as the operator who was serving you is back "
        "(kept for you for up to 2 min 00 s)"
    )
    after.advance(10)
    after.operator("cy", "cy")
    on = after.last("cy", DeskOnDuty)
    assert (on.waiting, on.yours) == (3, 0)  # Carol's place is held, the others kept
    assert not after.of("dan", DeskPosition)  # nothing new for Dan: cy will not serve him
    after.room("cy")
    room = after.last("cy", DeskRoom)
    assert [r.kept_for for r in room.rows] == ["ann", "bob", ""]
    assert [r.kept_left for r in room.rows] == [int(GRACE) - 10, int(GRACE) - 10, 0]
    rows = render_operator(room)
    assert rows[1].endswith("(kept for ann, up to 1 min 50 s)")
    # ann, back, counts Dan as hers
    after.operator("ann", "ann", (3,))
    assert after.last("dan", DeskServed).operator == "ann"


def test_once_its_operator_is_not_back_in_time_a_kept_person_is_counted_as_anyone() -> None:
    before, tokens = two_sessions()
    after = restarted(before)
    back(after, "dan", "Dan", tokens["dan"])
    after.operator("cy", "cy", (3,))
    after.advance(GRACE)
    assert notices(after, "dan")[-1] == "ann is not back; the next free operator will serve you."
    after.serve("cy", (2, 3))
    assert after.last("dan", DeskServed).operator == "cy"
