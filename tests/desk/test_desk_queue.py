"""The help desk's waiting room as a sans-IO core on a fake clock: positions, sessions and
hand-overs, privacy, shutdown, and places kept across a restart."""

from __future__ import annotations

import itertools
import re

import pytest
from desk_harness import PHONES, Desk, busy_desk, positions
from msgspec.structs import replace

from registry.core.credentials import token_hash
from registry.core.desk.actions import Close, KeptPlace, SessionEnded, SessionLine, SessionStarted
from registry.core.desk.limits import ARRIVALS_INTERVAL, GRACE, RECLAIM_WINDOW, RESTART_SETTLE
from wire.desk.messages import (
    EST_MEASURED,
    DeskEnded,
    DeskGiveUp,
    DeskNotice,
    DeskOnDuty,
    DeskPosition,
    DeskQueued,
    DeskRefused,
    DeskRoom,
    DeskServed,
    DeskSession,
)
from wire.desk.phone import mask_phone
from wire.desk.text import ENDED_TO_PERSON, YOU_LEFT
from wire.version import WIRE_VERSION


def last_position(desk: Desk, conn: str) -> int:
    """The position a person was last told, by DeskQueued or DeskPosition."""
    for message in reversed(desk.inbox[conn]):
        if isinstance(message, DeskQueued | DeskPosition):
            return message.position
    raise AssertionError(f"{conn} was never told a position")


# -- positions under joins, leaves and drops -----------------------------------------------


def test_joins_get_positions_one_two_three() -> None:
    desk = busy_desk()
    for conn, name in (("a", "Alice"), ("b", "Bob"), ("c", "Carol")):
        desk.join(conn, name)
    assert [desk.last(c, DeskQueued).position for c in "abc"] == [1, 2, 3]
    assert all(desk.last(c, DeskQueued).operators == 1 for c in "abc")
    assert positions(desk, "a", "b", "c") == [1, 2, 3]


def test_first_person_is_served_at_once_when_an_operator_is_free() -> None:
    desk = Desk()
    desk.operator("op", "ann")
    desk.join("a", "Alice")
    queued = desk.last("a", DeskQueued)
    assert queued.position == 0  # served at once: no waiting-room text
    kinds = [type(m) for m in desk.inbox["a"]]
    assert kinds == [DeskQueued, DeskServed]
    session = desk.last("op", DeskSession)
    assert session.name == "Alice" and session.phone == "+447700900123"


def test_a_leave_moves_those_behind_up() -> None:
    desk = busy_desk()
    for conn, name in (("a", "Alice"), ("b", "Bob"), ("c", "Carol")):
        desk.join(conn, name)
    desk.advance(2)
    desk.leave("b")
    assert desk.last("b", DeskEnded).reason == YOU_LEFT
    assert "b" in desk.closed
    assert desk.last("c", DeskPosition).position == 2
    assert not desk.of("a", DeskPosition)  # Alice's place did not change: no push
    assert positions(desk, "a", "c") == [1, 2]


def test_a_drop_keeps_the_place_and_shows_in_the_room() -> None:
    desk = busy_desk()
    for conn, name in (("a", "Alice"), ("b", "Bob"), ("c", "Carol")):
        desk.join(conn, name)
    desk.advance(5)
    desk.drop("b")
    assert positions(desk, "a", "c") == [1, 3]
    assert not desk.of("c", DeskPosition)
    desk.room("op")
    room = desk.last("op", DeskRoom)
    assert [r.name for r in room.rows] == ["Alice", "Bob", "Carol"]
    assert [r.connected for r in room.rows] == [True, False, True]
    assert room.rows[1].phone == mask_phone(PHONES["Bob"]) == "**********89"
    assert [r.waited for r in room.rows] == [5, 5, 5]


def test_the_room_read_without_an_operator_is_the_one_an_operator_is_shown() -> None:
    # the registry console's `desk`, which no operator asks for
    desk = busy_desk()
    for conn, name in (("a", "Alice"), ("b", "Bob")):
        desk.join(conn, name)
    desk.advance(3)
    desk.room("op")
    asked = desk.last("op", DeskRoom)
    read = desk.queue.state.room("", desk.now)
    assert replace(read, id=asked.id, reply_to=asked.reply_to) == asked
    assert [r.name for r in read.rows] == ["Alice", "Bob"]


def test_position_pushes_are_at_most_once_a_second() -> None:
    desk = busy_desk()
    for conn, name in (("a", "Alice"), ("b", "Bob"), ("c", "Carol"), ("d", "Dan")):
        desk.join(conn, name)
    desk.advance(0.2)
    desk.leave("a")
    # Dan joined 0.2 s ago: his new position must wait until a second after that push.
    assert not desk.of("d", DeskPosition)
    assert desk.queue.next_wake() == pytest.approx(1.0)
    desk.advance(0.3)
    desk.leave("b")
    desk.advance(0.49)
    assert not desk.of("d", DeskPosition)
    desk.advance(0.02)
    pushes = desk.of("d", DeskPosition)
    assert [p.position for p in pushes] == [2]  # 4 -> 2 in one push, never the 3 between
    times = [t for t, m in desk.sent_at["d"] if isinstance(m, DeskQueued | DeskPosition)]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))


def test_you_are_next_at_the_head() -> None:
    desk = busy_desk()
    desk.join("a", "Alice")
    desk.join("b", "Bob")
    desk.advance(1)
    desk.end("op")  # Zed done; Alice served; Bob is next
    assert desk.last("a", DeskServed).operator == "ann"
    assert desk.last("b", DeskPosition).position == 1


# -- grace: expiry and restore -------------------------------------------------------------


def test_a_dropped_place_is_given_up_after_the_grace_period() -> None:
    desk = busy_desk(grace=120.0)
    for conn, name in (("a", "Alice"), ("b", "Bob"), ("c", "Carol")):
        desk.join(conn, name)
    token = desk.token("b")
    desk.drop("b")
    assert desk.queue.next_wake() == pytest.approx(ARRIVALS_INTERVAL)  # ann hears of Bob, Carol
    desk.advance(ARRIVALS_INTERVAL)
    assert desk.queue.next_wake() == pytest.approx(120.0)
    desk.advance(119.9 - ARRIVALS_INTERVAL)
    assert len(desk.queue.state.waiting) == 3
    desk.advance(0.2)
    assert [p.name for p in desk.queue.state.waiting] == ["Alice", "Carol"]
    assert desk.last("c", DeskPosition).position == 2
    assert any("place given up" in line for line in desk.logs)
    # The token is worth nothing now: the person joins again at the end.
    desk.join("b2", "Bob", token=token)
    queued = desk.last("b2", DeskQueued)
    assert not queued.restored and queued.position == 3


def test_a_held_place_is_skipped_when_serving_and_first_again_on_return() -> None:
    desk = busy_desk()
    desk.join("a", "Alice")
    desk.join("b", "Bob")
    token = desk.token("a")
    desk.drop("a")
    desk.end("op")
    assert desk.last("b", DeskServed)  # the operator does not wait for Alice
    desk.join("a2", "Alice", token=token)
    assert desk.last("a2", DeskQueued).position == 1
    desk.end("op")
    assert desk.last("a2", DeskServed)


# -- sessions and handover -----------------------------------------------------------------


def test_end_promotes_the_next_and_both_sides_are_told() -> None:
    desk = busy_desk()
    desk.join("a", "Alice")
    desk.take("op")
    desk.end("op")
    assert desk.last("z", DeskEnded).reason == ENDED_TO_PERSON.format("ann")
    assert "z" in desk.closed
    op = desk.take("op")
    assert isinstance(op[0], DeskEnded) and "Zed" in op[0].reason
    assert isinstance(op[1], DeskSession) and op[1].name == "Alice"
    assert desk.last("a", DeskServed).operator == "ann"


def test_the_served_persons_lost_connection_promotes_the_next() -> None:
    desk = busy_desk()
    desk.join("a", "Alice")
    desk.drop("z")
    assert "Zed's connection was lost" in desk.last("op", DeskEnded).reason
    assert desk.last("a", DeskServed)
    assert desk.last("op", DeskSession).name == "Alice"


def test_a_served_person_whose_connection_breaks_keeps_a_place_at_the_front() -> None:
    desk = busy_desk(grace=120.0)
    token = desk.token("z")
    desk.join("a", "Alice")
    desk.join("b", "Bob")
    desk.drop("z")
    assert "keep a place at the front of the waiting room for 2 min" in (
        desk.last("op", DeskEnded).reason
    )
    # the operator is not left waiting for someone who is not there: Alice is served
    assert desk.last("op", DeskSession).name == "Alice"
    assert [p.name for p in desk.queue.state.waiting] == ["Zed", "Bob"]
    assert positions(desk, "b") == [2]  # a held place counts, as any
    assert any("lost the connection while being served" in line for line in desk.logs)
    desk.advance(30)
    desk.join("z2", "Zed", phone="+1 999 888 7777", token=token)
    back = desk.last("z2", DeskQueued)
    assert back.restored and back.position == 1
    desk.end("op")  # Alice's session ends: Zed, first in line, is next
    assert desk.last("z2", DeskServed).operator == "ann"
    assert desk.last("op", DeskSession).name == "Zed"


def test_a_served_persons_place_is_given_up_after_the_grace_period() -> None:
    desk = busy_desk(grace=60.0)
    desk.drop("z")
    desk.advance(61)
    assert desk.queue.state.waiting == []
    assert any("did not come back" in line for line in desk.logs)


def test_an_operators_lost_connection_puts_the_person_back_in_front() -> None:
    desk = busy_desk()
    desk.join("a", "Alice")
    desk.drop("op")
    ended = desk.last("z", DeskEnded)
    assert ended.requeued and "back at the front" in ended.reason
    assert "z" not in desk.closed
    assert desk.last("z", DeskQueued).position == 1
    assert [p.name for p in desk.queue.state.waiting] == ["Zed", "Alice"]
    assert desk.last("z", DeskQueued).operators == 0
    desk.operator("op2", "bea")
    assert desk.last("z", DeskServed).operator == "bea"


def test_a_person_whose_connection_breaks_after_the_operators_takes_the_front_back() -> None:
    # found by trying it: a registry frozen for 20 s read the operator's lost connection
    # first, then the person's; the place at the front, under a new token the client never
    # heard of, stayed held for nobody, and the client rejoined at the back
    desk = busy_desk()
    token = desk.token("z")
    desk.join("a", "Alice")
    desk.drop("op")
    desk.drop("z")  # the DeskQueued that went with the front place never arrived
    desk.join("z2", "Zed", phone="+1 999 888 7777", token=token)
    back = desk.last("z2", DeskQueued)
    assert back.restored and back.position == 1
    assert [p.name for p in desk.queue.state.waiting] == ["Zed", "Alice"]


def test_busy_operators_hear_of_newcomers() -> None:
    desk = busy_desk()
    desk.join("a", "Alice", topic=4)
    notice = desk.last("op", DeskNotice).text
    assert "Alice is waiting (4 Suggestion for Abroad Studies)" in notice


def test_a_burst_of_newcomers_is_told_in_one_line_not_a_line_each() -> None:
    desk = busy_desk()
    desk.join("a", "Alice")
    names = ["Bob", "Carol", "Dan", "Eve", "Fay"]
    for index, name in enumerate(names):
        desk.join(f"p{index}", name, phone=f"+1 555 000 010{index}")
    assert len(desk.of("op", DeskNotice)) == 1  # Alice's, at once
    desk.leave("p4")  # Fay gives up: she is not told of
    desk.advance(ARRIVALS_INTERVAL)
    notices = [n.text for n in desk.of("op", DeskNotice)]
    assert notices[1:] == ["Bob, Carol, Dan and 1 more are waiting; 5 waiting in all."]
    desk.join("g", "Gus", phone="+1 555 000 0200")  # within the interval of that line
    assert len(desk.of("op", DeskNotice)) == 2
    desk.advance(ARRIVALS_INTERVAL)
    assert (
        desk.last("op", DeskNotice).text
        == "Gus is waiting (2 Getting Differentiated by School); 6 waiting in all."
    )


def test_arrivals_held_back_are_not_told_to_an_operator_who_is_free_again() -> None:
    desk = busy_desk()
    desk.join("a", "Alice")
    desk.join("b", "Bob")
    desk.drop("b")  # his place is held: nobody serves it until he is back
    desk.end("op")
    desk.end("op")  # Alice's session: ann is free, with Bob's place held
    desk.advance(ARRIVALS_INTERVAL)
    assert not any("Bob" in n.text for n in desk.of("op", DeskNotice))


# -- no operator, crisis notice, refusals --------------------------------------------------


def test_a_connection_must_start_with_join_or_operator() -> None:
    desk = Desk()
    desk.say("x", "hello")
    assert "starts with DeskJoin or DeskOperator" in desk.last("x", DeskRefused).reason
    assert desk.closed == ["x"]


# -- .queue and estimates ------------------------------------------------------------------


def test_estimates_are_measured_after_three_sessions_and_update_as_the_queue_moves() -> None:
    desk = Desk()
    desk.operator("op", "ann")
    for i in range(3):
        desk.join(f"p{i}", f"P{i}", phone=f"+1 555 000 10{i}0")
        desk.advance(60)
        desk.end("op")
    desk.join("s", "Sam", phone="+1 555 000 2000")  # served at once
    desk.join("a", "Alice")
    desk.join("b", "Bob")
    desk.ask("b")
    first = desk.last("b", DeskPosition)
    assert first.estimate.kind == EST_MEASURED
    # One ahead, one operator, sessions of 60 s: the current one (60 s left) + 1 x 60 s.
    assert first.estimate.low <= 120 <= first.estimate.high
    desk.advance(30)
    desk.ask("b")
    later = desk.last("b", DeskPosition)
    assert later.estimate.high < first.estimate.high  # the session in progress has 30 s less to go
    desk.advance(40)  # the session runs past the average: its remaining time is 0, not < 0
    desk.ask("b")
    assert desk.last("b", DeskPosition).estimate.low >= 0
    desk.end("op")
    desk.advance(1)
    assert desk.last("b", DeskPosition).position == 1


# -- topic-limited operators ---------------------------------------------------------------


def test_positions_count_only_people_competing_for_the_same_operators() -> None:
    desk = Desk()
    desk.operator("o1", "ann", (1, 2))
    desk.operator("o2", "bea", (3,))
    desk.join("z1", "Zed", phone="+1 999 888 7777", topic=1)
    desk.join("z2", "Zoe", phone="+1 999 888 6666", topic=3)
    desk.join("x", "Xena", phone="+1 999 888 5555", topic=3)
    desk.join("y", "Yan", phone="+1 999 888 4444", topic=1)
    desk.join("w", "Walt", phone="+1 999 888 3333", topic=2)
    assert desk.last("x", DeskQueued).position == 1
    assert desk.last("y", DeskQueued).position == 1
    assert desk.last("w", DeskQueued).position == 2  # Yan is ahead for ann; Xena is not
    desk.advance(1)
    desk.serve("o1", (2,))  # ann drops topic 1: Yan has nobody, Walt has nobody ahead
    assert desk.last("o1", DeskOnDuty).topics == (2,)
    assert desk.last("w", DeskPosition).position == 1
    assert desk.last("y", DeskPosition).operators == 0


# -- privacy -------------------------------------------------------------------------------


def test_records_and_logs_never_hold_a_full_phone_number() -> None:
    desk = busy_desk()
    phone = PHONES["Alice"]
    desk.join("a", "Alice", topic=3, description="my number is 07700 900123, call me")
    desk.join("b", "Bob")
    desk.drop("b")
    desk.end("op")
    desk.say("a", f"reach me on {phone} or +447700900123")
    desk.say("op", "thanks")
    desk.end("op")
    desk.advance(500)
    started = [r for r in desk.records if isinstance(r, SessionStarted)]
    lines = [r for r in desk.records if isinstance(r, SessionLine)]
    assert started[-1].told.phone == "**********23"
    assert "07700 900123" not in started[-1].told.description
    assert lines[0].text == "reach me on **********23 or **********23"
    assert "my number is *********23, call me" in started[-1].told.description
    assert [r.reason for r in desk.records if isinstance(r, SessionEnded)] == [
        "ended by the operator",
        "ended by the operator",
    ]
    text = "\n".join(desk.logs) + "\n".join(map(repr, desk.records))
    for number in (*PHONES.values(), "+1 999 888 7777"):
        digits = re.sub(r"\D", "", number)
        assert digits not in re.sub(r"\D", "", text.replace("\n", " ")) or len(digits) < 7, number
    # The operator serving Alice did see the full number.
    assert any(s.phone == "+447700900123" for s in desk.of("op", DeskSession))


def test_shutdown_tells_everyone_and_closes_everything() -> None:
    desk = busy_desk()
    desk.join("a", "Alice")
    desk.apply(desk.queue.shutdown(desk.now))
    for conn in ("z", "a"):  # their places are not kept
        said = "The help desk is closing; please try again later."
        assert desk.last(conn, DeskEnded).reason == said
    assert desk.last("op", DeskEnded).reason == "The help desk is closing."
    assert set(desk.closed) == {"z", "a", "op"}
    assert len(desk.of("op", DeskEnded)) == 1
    assert len(desk.of("z", DeskEnded)) == 1
    assert isinstance(desk.records[-1], SessionEnded)
    assert not desk.queue.state.waiting and not desk.queue.state.operators.values()


def test_a_close_is_never_followed_by_a_send() -> None:
    desk = busy_desk()
    actions = desk.end("op")
    closes = [i for i, a in enumerate(actions) if isinstance(a, Close) and a.conn == "z"]
    assert closes and closes[-1] == max(
        i for i, a in enumerate(actions) if getattr(a, "conn", None) == "z"
    )


# -- the waiting room kept across a registry that stopped without closing -----------------


def test_the_places_kept_follow_who_is_served_and_who_waits() -> None:
    desk = busy_desk()
    desk.join("a", "Alice", topic=3, description="maths")
    desk.join("b", "Bob")
    assert [p.name for p in desk.kept] == ["Zed", "Alice", "Bob"]  # the one served first
    alice = desk.kept[1]
    assert (alice.phone, alice.topic, alice.description) == ("+447700900123", 3, "maths")
    assert alice.token == desk.token("a")
    desk.drop("b")
    assert [p.name for p in desk.kept] == ["Zed", "Alice", "Bob"]  # held: still kept
    desk.leave("a")
    desk.end("op")  # Zed's session ends; nobody connected is left to serve
    assert [p.name for p in desk.kept] == ["Bob"]
    desk.advance(GRACE + 1)  # Bob never came back
    assert desk.kept == ()
    desk.join("c", "Carol")
    desk.apply(desk.queue.shutdown(desk.now))  # closed on purpose: everyone was told
    assert desk.kept == ()


def shifted(place: KeptPlace, seconds: float) -> KeptPlace:
    """`place` as read by a run whose clock reads `seconds` more than the run before's, its
    token kept as its hash alone (registry/adapter/desk/files.py)."""
    since = place.serving_since
    return replace(
        place,
        token=token_hash(place.token),
        joined=place.joined + seconds,
        serving_since=None if since is None else since + seconds,
    )


def restarted(names: tuple[str, ...]) -> tuple[Desk, dict[str, str]]:
    """A desk whose run before stopped with Zed served and `names` waiting, in order; and
    everyone's tokens. The new run's clock reads 5000 (10 s after the stop on the old
    run's clock)."""
    before = busy_desk()
    for name in names:
        before.join(name[0].lower(), name)
    tokens = {name: before.token(name[0].lower()) for name in ("Zed", *names)}
    after = Desk()
    after.now = 5000.0
    kept = [shifted(p, 4990) for p in before.kept]
    after.restore(kept, after.now)
    return after, tokens


def test_a_restarted_desk_holds_the_kept_places_in_order_for_their_tokens() -> None:
    after, tokens = restarted(("Alice", "Bob"))
    assert after.logs == [
        "desk: 3 places kept from before the registry stopped, held for 15 s for their "
        "people to come back; nobody is served for up to 5 s while they reconnect"
    ]
    assert [p.name for p in after.queue.state.waiting] == ["Zed", "Alice", "Bob"]
    assert all(p.conn is None for p in after.queue.state.waiting)
    after.join("b2", "Bob", token=tokens["Bob"])  # Bob is back first
    queued = after.last("b2", DeskQueued)
    assert queued.restored and queued.position == 3 and queued.token == tokens["Bob"]
    after.operator("op", "cy")  # not ann, who is kept for Zed (see test_desk_resume.py)
    assert not after.of("b2", DeskServed)  # not before the people ahead had their chance
    after.join("a2", "Alice", token=tokens["Alice"])
    assert after.last("a2", DeskQueued).restored
    after.advance(RESTART_SETTLE)
    assert after.of("a2", DeskServed)  # Alice was ahead of Bob; Zed did not come back
    assert after.last("op", DeskSession).waited == 15  # her wait went on counting
    after.advance(GRACE)
    assert [p.name for p in after.queue.state.waiting] == ["Bob"]  # Zed's place ran out


def test_kept_places_nobody_takes_back_soon_after_a_restart_are_given_up() -> None:
    # found by trying it: after a long outage, the places of people who had given up
    # meanwhile were counted ahead of every newcomer for the whole grace period
    after, tokens = restarted(("Alice", "Bob", "Carol"))
    assert RECLAIM_WINDOW < GRACE
    after.advance(RESTART_SETTLE + 1)
    after.join("b2", "Bob", token=tokens["Bob"])  # Bob's client is still running
    after.join("d", "Dan")  # a newcomer: behind all four kept places for now
    assert after.last("d", DeskQueued).position == 5
    after.advance(RECLAIM_WINDOW - RESTART_SETTLE - 1.01)
    assert len(after.queue.state.waiting) == 5
    after.advance(0.02)  # the window is over: Zed, Alice and Carol gave up
    assert [p.name for p in after.queue.state.waiting] == ["Bob", "Dan"]
    assert after.logs[-3:] == [
        f"desk: {name} (phone {mask_phone(phone)}) did not come back in time; place given up"
        for name, phone in (
            ("Zed", "+19998887777"),
            ("Alice", PHONES["Alice"]),
            ("Carol", PHONES["Carol"]),
        )
    ]
    assert after.last("d", DeskPosition).position == 2
    assert after.last("b2", DeskPosition).position == 1
    assert [p.name for p in after.kept] == ["Bob", "Dan"]
    after.join("a2", "Alice", token=tokens["Alice"])  # too late: a place of her own
    assert not after.last("a2", DeskQueued).restored
    assert after.last("a2", DeskQueued).position == 3
    assert after.queue.next_wake() is None or after.queue.next_wake() > after.now


def test_the_reconnect_window_leaves_room_for_the_clients_backoff() -> None:
    # a living client is back at most RETRY_MAX after a refused attempt, or CONNECT_WAIT
    # plus RETRY_MAX after one nobody answered; the window must hold that with room to spare
    from net.served_stream import CONNECT_WAIT
    from peer.core.desk.link import RETRY_MAX

    assert RECLAIM_WINDOW >= 1.5 * (CONNECT_WAIT + RETRY_MAX)
    assert RESTART_SETTLE < RECLAIM_WINDOW < GRACE


def test_a_place_taken_back_after_a_restart_is_held_by_the_usual_rules_again() -> None:
    after, tokens = restarted(("Alice",))
    after.join("a2", "Alice", token=tokens["Alice"])
    after.drop("a2")  # lost again within the window: held for the grace period, as ever
    after.advance(RECLAIM_WINDOW + 1)
    assert [p.name for p in after.queue.state.waiting] == ["Alice"]
    after.advance(GRACE)
    assert after.queue.state.waiting == []


def test_a_kept_place_given_up_after_a_restart_goes_at_once() -> None:
    after, tokens = restarted(("Alice", "Bob"))
    after.send("a", DeskGiveUp(after.mid(), PHONES["Alice"], tokens["Alice"], WIRE_VERSION))
    assert [p.name for p in after.queue.state.waiting] == ["Zed", "Bob"]
    after.join("b", "Bob", token=tokens["Bob"])
    assert after.last("b", DeskQueued).position == 2


def test_a_restarted_desk_serves_at_once_when_everyone_is_back() -> None:
    after, tokens = restarted(("Alice",))
    after.operator("op", "ann")
    after.join("a2", "Alice", token=tokens["Alice"])
    assert not after.of("a2", DeskServed)
    after.join("z2", "Zed", phone="+1 999 888 7777", token=tokens["Zed"])
    assert after.of("z2", DeskServed)  # the last one back: no need to wait any longer
    assert after.now == 5000.0


def test_a_kept_place_is_taken_back_only_with_its_phone() -> None:
    before = busy_desk()
    before.join("a", "Alice")
    token = before.token("a")
    after = Desk()
    after.restore(list(before.kept), 0.0)
    after.join("x", "Alice", phone=PHONES["Bob"], token=token)
    assert not after.last("x", DeskQueued).restored


def test_a_restore_holds_each_token_once_and_no_more_than_the_room_holds() -> None:
    before = busy_desk()
    before.join("a", "Alice")
    kept = list(before.kept)
    after = Desk(max_waiting=2)
    after.restore([kept[1], kept[1], kept[0], kept[0]], 0.0)
    # Zed, who was being served, is held at the front, as one put back
    assert [p.name for p in after.queue.state.waiting] == ["Zed", "Alice"]
    after = Desk(max_waiting=1)
    after.restore(kept, 0.0)
    assert [p.name for p in after.queue.state.waiting] == ["Zed"]


def test_people_put_back_keep_their_order_across_a_restart() -> None:
    # found by trying it: after a registry restart, the next person put back went before
    # those put back before the stop, who had joined before them
    before = Desk()
    before.operator("op1", "ann")
    before.join("a", "Alice")  # to ann at once
    before.advance(5)
    before.operator("op2", "bo", topics=(3,))
    before.join("b", "Bob", topic=3)  # to bo
    before.advance(1)
    before.join("c", "Carol")  # waits
    before.advance(4)
    before.leave("op1")  # Alice is put back at the front, served 10 s
    tokens = {name: before.token(name[0].lower()) for name in ("Alice", "Bob", "Carol")}
    kept = before.kept
    assert [(p.name, p.back, p.served) for p in kept] == [
        ("Alice", True, 10.0),
        ("Bob", True, 0.0),  # being served: would be put back
        ("Carol", False, 0.0),
    ]
    after = Desk()
    after.now = 1000.0
    after.restore([shifted(p, 990) for p in kept], 1000.0)
    assert [p.back for p in after.queue.state.waiting] == [True, True, False]
    for name in ("Alice", "Bob", "Carol"):
        after.join(name[0].lower(), name, topic=3 if name == "Bob" else 2, token=tokens[name])
    after.operator("op3", "bo", topics=(3,))  # Bob's conversation resumes with bo
    assert after.last("op3", DeskSession).name == "Bob"
    after.leave("op3")  # Bob put back again: still after Alice, who joined before him
    assert [p.name for p in after.queue.state.waiting] == ["Alice", "Bob", "Carol"]
    after.advance(2)
    after.ask("a")  # her 10 s with ann still do not count as waiting
    assert after.last("a", DeskPosition).waited == 2
    after.ask("c")  # Carol joined 4 s before the stop
    assert after.last("c", DeskPosition).waited == 6


def test_the_operator_and_the_log_give_the_same_wait() -> None:
    desk = Desk()
    desk.join("a", "Alice")
    desk.advance(3.6)
    desk.operator("op", "ann")
    assert desk.last("op", DeskSession).waited == 4
    assert desk.logs[-1].endswith("(topic 2, waited 4 s)")


def alice_and_bob_served_carol_waiting() -> Desk:
    desk = Desk()
    desk.operator("op1", "ann")
    desk.operator("op2", "bo")
    desk.join("a", "Alice")  # to ann, who has been free the longest
    desk.advance(5)
    desk.join("b", "Bob")  # to bo
    desk.advance(1)
    desk.join("c", "Carol")  # waits
    assert desk.last("op1", DeskSession).name == "Alice"
    assert desk.last("op2", DeskSession).name == "Bob"
    return desk


def test_people_put_back_at_the_front_go_in_the_order_they_joined() -> None:
    # found by trying it: two operators left one after the other, and the person who had
    # joined later was served first (each put back went before the one put back earlier)
    desk = alice_and_bob_served_carol_waiting()
    desk.drop("op1")  # Alice is put back at the front...
    desk.leave("op2")  # ...then Bob, who joined after her: he goes after her
    assert [p.name for p in desk.queue.state.waiting] == ["Alice", "Bob", "Carol"]
    desk.join("d", "Dan")
    desk.operator("op3", "cy")
    assert desk.last("op3", DeskSession).name == "Alice"


def test_a_broken_connection_puts_back_in_the_order_of_joining_too() -> None:
    desk = alice_and_bob_served_carol_waiting()
    desk.drop("b")  # Bob's connection breaks while served: his place is held at the front
    assert desk.last("op2", DeskSession).name == "Carol"
    desk.leave("op1")  # Alice, who joined before Bob, is put back before him
    desk.join("d", "Dan")
    assert [p.name for p in desk.queue.state.waiting] == ["Alice", "Bob", "Dan"]
    # as kept for a restart: Carol, being served, would be put back too, after them
    assert [p.name for p in desk.kept] == ["Alice", "Bob", "Carol", "Dan"]


def test_the_wait_shown_leaves_out_time_spent_being_served() -> None:
    # found by trying it: a person served for 10 minutes, then put back, was shown to the
    # next operator as having waited 10 minutes more than they had
    desk = Desk()
    desk.join("a", "Alice")
    desk.advance(30)
    desk.operator("op1", "ann")
    assert desk.last("op1", DeskSession).waited == 30
    desk.advance(600)  # served for 10 minutes
    desk.leave("op1")
    desk.advance(20)
    desk.ask("a")
    assert desk.last("a", DeskPosition).waited == 50  # `.queue`
    # kept on disk so that a restarted desk goes on counting from 50 s
    assert desk.now - desk.kept[0].joined == 50
    desk.operator("op2", "bo")
    assert desk.last("op2", DeskSession).waited == 50
    assert desk.logs[-1].endswith("(topic 2, waited 50 s)")
    started = [r for r in desk.records if isinstance(r, SessionStarted)]
    assert round(started[-1].told.waited) == 50


def sessions_measured(desk: Desk) -> int:
    return desk.queue.state.estimator.overall.count


def test_only_sessions_that_ended_as_sessions_do_count_in_the_estimate() -> None:
    # found by trying it: sessions cut off by the registry closing counted in the averages
    desk = Desk()
    desk.operator("op", "ann")
    desk.join("a", "Alice")
    desk.advance(60)
    desk.end("op")  # ended by the operator: counts
    desk.join("b", "Bob")
    desk.advance(60)
    desk.leave("b")  # the person's .quit: counts
    assert sessions_measured(desk) == 2
    desk.join("c", "Carol")
    desk.advance(5)
    desk.apply(desk.queue.shutdown(desk.now))  # the desk closing cut Carol's off
    assert sessions_measured(desk) == 2
    assert any(isinstance(r, SessionEnded) and r.reason == "registry closing" for r in desk.records)


def test_a_conversation_resumed_after_a_restart_is_not_measured_from_its_tail() -> None:
    before = Desk()
    before.operator("op", "ann")
    before.join("d", "Dan")
    token = before.token("d")
    before.advance(300)  # kill -9 five minutes into the session
    after = Desk()
    after.now = before.now
    after.restore(list(before.kept), after.now)
    after.operator("op", "ann")
    after.join("d", "Dan", phone=PHONES["Dan"], token=token)
    assert after.of("d", DeskServed)
    after.advance(10)
    after.end("op")  # 10 s of a 310 s conversation: no measure of one
    assert sessions_measured(after) == 0
    after.join("e", "Eve")
    after.advance(10)
    after.end("op")
    assert sessions_measured(after) == 1


def test_a_closed_desk_answers_each_first_message_with_why_and_closes() -> None:
    desk = Desk(closed="Closed here.")
    desk.join("a", "Alice")
    desk.operator("op", "ann")
    desk.send("g", DeskGiveUp("g-1", "+44 7700 900123", "token-1", WIRE_VERSION))
    assert [type(desk.inbox[c][-1]) for c in ("a", "op", "g")] == [
        DeskRefused,
        DeskRefused,
        DeskEnded,
    ]
    assert all(desk.inbox[c][-1].reason == "Closed here." for c in ("a", "op", "g"))  # type: ignore[union-attr]
    assert (
        desk.closed == ["a", "op", "g"]
        and not desk.queue.state.waiting
        and not desk.queue.state.operators.values()
    )
