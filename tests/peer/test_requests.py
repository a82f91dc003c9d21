"""The peer's requests to the registry (peer.core.requests), on their own, with a fake clock:
in flight and retried, held behind a long or a kept one, streamed after a TooBig, saves
awaiting their outcome, and the requests given up on whose late answers are still taken."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peer.core.actions import Action, SendSealed
from peer.core.request_kinds import RequestRecord, Stage
from peer.core.requests import (
    EXTRA_ROUNDS,
    GIVEN_UP_KEPT,
    OUTCOME_WAIT,
    PACE_BURST,
    PACE_RATE,
    Requests,
)
from peer.core.settling import Settling
from tests.peer.parts_kit import link, shared
from tests.peer.retry_rule import heard_for
from wire.limits import REGISTRY_BURST, REGISTRY_RATE
from wire.messages import (
    ChannelPost,
    Join,
    Keepalive,
    Leave,
    Message,
    RoomPost,
    RoomsRequest,
    SaveMessage,
    TableRequest,
)
from wire.reliable import ATTEMPTS, TIMEOUT
from wire.token_bucket import BucketRule

SERVER = ("127.0.0.1", 9000)
T0 = 1000.0
LONG = "y" * 1500  # too long for a datagram: travels over TCP


def save(msg_id: str, text: str = "hi") -> SaveMessage:
    return SaveMessage(msg_id, "alice", "tok", "bob", text)


def post(msg_id: str, room: str = "lobby") -> RoomPost:
    return RoomPost(msg_id, "alice", "tok", room, "hello")


def join(msg_id: str, room: str = "lobby") -> Join:
    return Join(msg_id, "alice", "tok", room)


def sent(out: list[Action]) -> list[Message]:
    assert all(isinstance(a, SendSealed) and a.addr == SERVER for a in out)
    return [a.message for a in out if isinstance(a, SendSealed)]


def test_a_request_is_sent_retried_and_given_up_after_its_attempts() -> None:
    requests = Requests(SERVER, Settling(), timeout=0.5, attempts=3)
    out: list[Action] = []
    rooms = RoomsRequest("r-1")
    requests.send(rooms, T0, out.append, quiet=True)
    assert sent(out) == [rooms]
    assert requests.next_wake() == T0 + 0.5 and requests.messages() == [rooms]
    again, failed = requests.due(T0 + 0.5)
    assert [r.message for r in again] == [rooms] and failed == []
    requests.due(T0 + 1.0)
    again, failed = requests.due(T0 + 1.5)  # nothing came from the registry meanwhile
    assert again == [] and [(r.message, r.quiet) for r in failed] == [(rooms, True)]
    assert requests.messages() == [] and requests.next_wake() is None


def rounds_until_given_up(requests: Requests, heard: list[float]) -> tuple[int, float]:
    """Run `requests`' clock TIMEOUT at a time, the registry heard from at the times in
    `heard`, until a request is given up: how many copies were sent, and when."""
    copies, now = 1, T0
    while True:
        now += TIMEOUT
        last = max((t for t in heard if t <= now), default=-1.0)
        requests.heard_at = last
        again, failed = requests.due(now)
        copies += len(again)
        if failed:
            return copies, now - T0


def test_a_request_is_tried_more_rounds_while_the_registry_is_heard_from() -> None:
    # its copies or their answers are lost, but the registry sends other things
    requests = Requests(SERVER, Settling())
    requests.send(save("s-1"), T0, [].append)
    heard = [T0 + 0.2 + k for k in range(100)]  # every second, say a room line
    copies, at = rounds_until_given_up(requests, heard)
    # (each round after the first waits twice as long: the registry runs, behind)
    assert copies == ATTEMPTS * (1 + EXTRA_ROUNDS)
    assert at == pytest.approx(heard_for(1 + EXTRA_ROUNDS))


def test_a_request_is_given_up_when_nothing_came_during_its_last_round() -> None:
    requests = Requests(SERVER, Settling())
    requests.send(save("s-1"), T0, [].append)
    copies, at = rounds_until_given_up(requests, [T0 + 1.0])  # heard once, in its 1st round
    assert copies == 2 * ATTEMPTS and at == pytest.approx(heard_for(2))
    requests = Requests(SERVER, Settling())  # (one that never waited longer)
    requests.send(save("s-2"), T0, [].append)
    copies, at = rounds_until_given_up(requests, [T0 - 1.0])  # heard before it was sent
    assert copies == ATTEMPTS and at == pytest.approx(heard_for(1))


def test_a_keepalive_has_all_its_rounds_as_an_idle_peer_hears_nothing_else() -> None:
    requests = Requests(SERVER, Settling())
    requests.send(Keepalive("k-1", "alice", "tok"), T0, [].append, quiet=True)
    copies, at = rounds_until_given_up(requests, [])
    assert copies == ATTEMPTS * (1 + EXTRA_ROUNDS)
    assert at == pytest.approx(heard_for(1 + EXTRA_ROUNDS))


def test_what_is_typed_after_a_long_request_is_held_until_it_is_over_in_order() -> None:
    requests = Requests(SERVER, Settling())
    out: list[Action] = []
    long, after, later = save("s-1", LONG), post("p-2"), ChannelPost("c-3", "alice", "tok", "x")
    for message in (long, after, later):
        requests.send(message, T0, out.append)
    requests.send(RoomsRequest("r-4"), T0, out.append)  # not typed to anyone: never held
    assert sent(out) == [long, RoomsRequest("r-4")]
    assert requests.waited_for == "s-1" and requests.holds("p-2") and requests.holds("c-3")
    assert requests.messages(held=True) == [long, RoomsRequest("r-4"), after, later]
    assert not requests.release("p-2")  # not the one waited for
    assert requests.answer_came("s-1") is not None and requests.release("s-1")
    assert requests.waited_for is None
    assert [(r.message, r.stage) for r in requests.take_held()] == [
        (after, Stage.HELD),
        (later, Stage.HELD),
    ]
    requests.send(after, T0, out.append)  # sent again, as its record
    assert requests.records["p-2"].stage is Stage.SENT and requests.holds("p-2")
    given_up = requests.take_held(give_up=True)
    assert [(r.message, r.stage) for r in given_up] == [(later, Stage.GIVEN_UP)]
    assert requests.take_held() == [] and not requests.holds("c-3")


def test_a_kept_message_is_waited_for_and_the_next_kept_one_is_the_first_not_on_its_way() -> None:
    first, second = save("s-1"), post("p-2")
    made = shared(outbox=(first, second))
    requests, registry, room_return = made.requests, link(made), made.room_return
    assert registry.next_kept() == first
    room_return.rejoining = "lobby"
    assert registry.next_kept() == first  # not a room line: goes
    room_return.rejoining = None
    requests.send(first, T0, [].append, quiet=True)
    assert requests.waited_for is not None  # the outbox goes one message at a time
    assert registry.next_kept() == second
    room_return.rejoining = "lobby"
    assert registry.next_kept() is None  # waits for its room to be joined again


def test_a_request_answered_too_big_waits_while_its_connection_is_open_then_asks_again() -> None:
    requests = Requests(SERVER, Settling())
    out: list[Action] = []
    asked = RoomsRequest("r-1")
    requests.send(asked, T0, out.append)
    streamed = requests.stream("r-1", T0 + 0.1)
    assert streamed is not None and streamed.message == asked
    assert requests.stream("r-1", T0 + 0.2) is None  # a copy of the TooBig
    assert requests.due(T0 + 1) == ([], [])  # no longer retried as a datagram
    assert requests.messages() == [] and requests.messages(streamed=True) == [asked]
    assert requests.next_wake() is None  # as long as its connection is open
    assert requests.due(T0 + 100) == ([], [])
    requests.ended("r-1", T0 + 100)  # closed unanswered
    assert requests.next_wake() == T0 + 100
    again, failed = requests.due(T0 + 100)  # nothing heard since the TooBig: asked again
    assert [r.message for r in again] == [asked] and failed == []
    assert requests.messages() == [asked]  # as a datagram, in a round of its own


def test_a_request_answered_too_big_is_asked_again_when_the_registry_was_heard_since() -> None:
    # a registry in a join storm pushes, but its answer over TCP is slow: asked again, as
    # a request whose datagrams went unanswered while it was heard from
    requests = Requests(SERVER, Settling())
    asked = RoomsRequest("r-1")
    requests.send(asked, T0, [].append)
    requests.stream("r-1", T0 + 0.1)
    requests.ended("r-1", T0 + 20)
    requests.heard_at = T0 + 5
    again, failed = requests.due(T0 + 20)
    assert [r.message for r in again] == [asked] and failed == []
    assert requests.messages() == [asked]  # waited for as a datagram again


def test_the_end_of_a_connection_whose_answer_came_changes_nothing() -> None:
    requests = Requests(SERVER, Settling())
    asked = TableRequest("r-1")
    requests.send(asked, T0, [].append)  # over TCP at once
    assert requests.answer_came("r-1", T0 + 1) is not None
    requests.ended("r-1", T0 + 1)
    assert requests.due(T0 + 1) == ([], []) and requests.next_wake() is None


def test_a_streamed_request_answered_in_time_is_forgotten() -> None:
    requests = Requests(SERVER, Settling())
    requests.send(RoomsRequest("r-1"), T0, [].append)
    requests.stream("r-1", T0)
    answered = requests.answer_came("r-1")
    assert answered is not None and answered.message == RoomsRequest("r-1")
    assert requests.answer_came("r-1") is None and requests.due(T0 + 60) == ([], [])


def test_an_accepted_save_awaits_its_outcome_and_is_asked_again_when_none_comes() -> None:
    requests = Requests(SERVER, Settling())
    message = save("s-1")
    requests.send(message, T0, [].append)
    assert requests.holds("s-1")
    requests.answer_came("s-1")  # the registry's Ack: accepted
    assert requests.accept(message, T0 + 0.1, kept=True)
    assert not requests.accept(message, T0 + 5)  # a copy: the first deadline holds
    assert requests.holds("s-1") and requests.accepted("s-1")
    assert requests.next_wake() == T0 + 0.1 + OUTCOME_WAIT
    assert requests.outcomes_over(T0 + 5) == []
    assert requests.outcomes_over(T0 + 0.1 + OUTCOME_WAIT) == [message]
    assert not requests.holds("s-1") and requests.next_wake() is None
    requests.send(message, T0 + 11, [].append, quiet=True)  # asked again: still accepted
    assert requests.answer_came("s-1") is not None and not requests.accept(message, T0 + 12)
    outcome = requests.outcome_came("s-1")
    assert outcome is not None and outcome.kept and requests.outcome_came("s-1") is None


def test_an_accepted_post_given_up_on_is_forgotten_once_its_outcome_is() -> None:
    # asked again for its outcome, unanswered: kept while accepted, then not a late answer's
    requests = Requests(SERVER, Settling(), timeout=1.0, attempts=1)
    line = post("p-1")
    requests.accept(line, T0)
    requests.send(line, T0 + OUTCOME_WAIT, [].append, quiet=True)
    _, [given_up] = requests.due(T0 + OUTCOME_WAIT + 1)
    assert given_up.stage is Stage.GIVEN_UP and requests.accepted("p-1")
    assert requests.outcome_came("p-1") is given_up
    assert "p-1" not in requests.records and requests.take_given_up("p-1") is None


def test_the_outcome_of_a_save_is_taken_once() -> None:
    requests = Requests(SERVER, Settling())
    message = save("s-1")
    requests.accept(message, T0)
    outcome = requests.outcome_came("s-1")
    assert outcome is not None and outcome.message == message and not outcome.kept
    assert requests.outcome_came("s-1") is None and not requests.accepted("s-1")


def test_the_last_requests_given_up_on_are_kept_for_their_late_answers() -> None:
    requests = Requests(SERVER, Settling())
    joins = [join(f"j-{n}", f"room{n}") for n in range(GIVEN_UP_KEPT + 2)]
    for given_up in joins:
        requests.keep_given_up(RequestRecord(given_up, stage=Stage.GIVEN_UP))
    assert requests.messages(given_up=True) == joins[2:]  # the oldest two forgotten
    assert requests.take_given_up("j-0") is None
    assert requests.take_given_up("j-5") == joins[5]
    assert requests.take_given_up("j-5") is None and not requests.holds("j-6")


def test_views_list_sent_then_streamed_then_held_then_given_up() -> None:
    requests = Requests(SERVER, Settling())
    out: list[Action] = []
    asked, long, held, given_up = RoomsRequest("r-1"), save("s-2", LONG), post("p-3"), join("j-4")
    for message in (asked, long, held):
        requests.send(message, T0, out.append)
    requests.stream("r-1", T0)
    requests.keep_given_up(RequestRecord(given_up, stage=Stage.GIVEN_UP))
    assert requests.messages() == [long]
    everything = requests.messages(streamed=True, held=True, given_up=True)
    assert everything == [long, asked, held, given_up]
    assert requests.undelivered((SaveMessage,)) == [long, held]


def test_what_is_undelivered_leaves_out_quiet_retries() -> None:
    requests = Requests(SERVER, Settling())
    out: list[Action] = []
    requests.send(save("s-1"), T0, out.append, quiet=True)
    assert not requests.undelivered((SaveMessage, Leave))  # an outbox retry
    requests.send(Leave("l-2", "alice", "tok"), T0, out.append)
    assert requests.undelivered((SaveMessage, Leave))
    assert not requests.undelivered((SaveMessage,))
    requests.accept(save("s-3"), T0)
    assert requests.undelivered((SaveMessage,))  # its outcome is still to come


# -- the pace (peer.core.requests) ---------------------------------------------------------------


def paced_requests(outbox: Settling | None = None) -> Requests:
    """Requests at a pace of 10 a second, 2 at once."""
    requests = Requests(SERVER, outbox or Settling())
    requests.pace = BucketRule(10.0, 2.0)
    return requests


def test_the_pace_stays_below_the_registry_flood_gate() -> None:
    assert PACE_RATE < REGISTRY_RATE and PACE_BURST < REGISTRY_BURST


def test_a_clock_stepped_back_neither_adds_to_the_pace_nor_stalls_it() -> None:
    requests, out = one_beyond_the_pace()
    requests.send_paced(T0 - 3600.0, out.append)  # an hour back: no message's worth from it
    assert out == []
    requests.send_paced(T0 - 3600.0 + 0.1, out.append)  # and it goes on at its rate
    assert sent(out) == [save("s-2")]


def test_a_wake_up_when_the_pace_says_sends_at_todays_clock() -> None:
    # counted in fractions of tokens at a clock of 1.7e9 s, a wake-up at the pace's time
    # could find nothing to send, again and again
    requests, out = Requests(SERVER, Settling()), list[Action]()
    now = 1_700_000_000.1234567
    for i in range(3 * int(PACE_BURST)):
        requests.send(save(f"s-{i}"), now, out.append)
    while len(out) < 3 * int(PACE_BURST):
        wake = requests.next_wake()
        assert wake is not None and wake <= now + 1.0
        now, before = max(now, wake), len(out)
        requests.send_paced(now, out.append)
        requests.due(now)
        assert len(out) > before or wake < now


def one_beyond_the_pace() -> tuple[Requests, list[Action]]:
    """Paced requests given saves s-0, s-1 (sent) and s-2 (waiting for the pace) at T0,
    and the list their actions went to, cleared."""
    requests = paced_requests()
    out: list[Action] = []
    for i in range(3):
        requests.send(save(f"s-{i}"), T0, out.append)
    out.clear()
    return requests, out


def test_what_is_typed_beyond_the_pace_waits_and_goes_in_order_at_the_pace() -> None:
    requests = paced_requests()
    out: list[Action] = []
    saves = [save(f"s-{i}") for i in range(5)]
    for s in saves:
        requests.send(s, T0, out.append)
    assert sent(out) == saves[:2]
    assert requests.next_wake() == pytest.approx(T0 + 0.1)
    out.clear()
    requests.send_paced(T0 + 0.05, out.append)
    assert out == []  # not yet
    requests.send_paced(T0 + 0.1, out.append)
    assert sent(out) == [saves[2]]
    out.clear()
    requests.send_paced(T0 + 0.35, out.append)
    assert sent(out) == saves[3:]
    assert requests.next_wake() == pytest.approx(T0 + TIMEOUT)  # only retries now


def test_once_some_wait_for_the_pace_what_follows_waits_behind_them() -> None:
    requests, out = one_beyond_the_pace()
    # the pace has a message's worth again at T0 + 0.1: the one waiting longest takes it
    requests.send(save("s-3"), T0 + 0.1, out.append)
    assert out == []
    requests.send_paced(T0 + 0.1, out.append)
    assert sent(out) == [save("s-2")]


def test_registrations_keepalives_and_queries_are_not_paced() -> None:
    requests, out = one_beyond_the_pace()
    keepalive, rooms = Keepalive("k-1", "alice", "tok"), RoomsRequest("r-1")
    requests.send(keepalive, T0, out.append, quiet=True)
    requests.send(rooms, T0, out.append)
    assert sent(out) == [keepalive, rooms]


def test_what_waits_for_the_pace_counts_as_held_in_every_view() -> None:
    requests, _ = one_beyond_the_pace()
    waiting = save("s-2")
    assert requests.holds("s-2")
    assert requests.messages() == [save("s-0"), save("s-1")]
    assert requests.messages(held=True) == [save("s-0"), save("s-1"), waiting]
    assert requests.undelivered((SaveMessage,)) == [save("s-0"), save("s-1"), waiting]
    requests.answer_came("s-0")
    requests.answer_came("s-1")
    assert requests.undelivered((SaveMessage,))  # s-2 is still to go


def test_a_kept_message_waiting_for_the_pace_is_not_the_next_kept_one() -> None:
    kept = [save("k-1"), save("k-2")]
    made = shared(outbox=tuple(kept))
    requests = made.requests
    requests.pace = BucketRule(10.0, 2.0)
    out: list[Action] = []
    requests.send(save("s-1"), T0, out.append)
    requests.send(save("s-2"), T0, out.append)
    requests.send(kept[0], T0, out.append, quiet=True)  # beyond the pace: waits
    assert [a.message for a in out if isinstance(a, SendSealed)] == [save("s-1"), save("s-2")]
    assert requests.records["k-1"].stage is Stage.PACED and link(made).next_kept() == kept[1]


@settings(deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["type", "release"]), st.floats(min_value=0.0, max_value=0.3)),
        max_size=60,
    )
)
def test_at_any_pace_of_typing_everything_goes_in_order_within_the_pace(
    steps: list[tuple[str, float]],
) -> None:
    """Lines typed and wake-ups at any times: the lines go in the order typed, never more
    than the burst plus the rate allow in any stretch, and each by the time the pace says."""
    requests = paced_requests()
    now = T0
    typed: list[Message] = []
    log: list[tuple[float, Message]] = []  # (time sent, message)
    for what, gap in steps:
        now += gap
        out: list[Action] = []
        if what == "type":
            message = save(f"s-{len(typed)}")
            typed.append(message)
            requests.send(message, now, out.append)
        else:
            requests.send_paced(now, out.append)
        log += [(now, m) for m in sent(out)]
    while len(log) < len(typed):  # then the wake-ups next_wake asks for
        wake = requests.next_wake()
        assert wake is not None
        now = max(now, wake)
        out = []
        requests.send_paced(now, out.append)
        log += [(now, m) for m in sent(out)]
        requests.due(now)  # retries (none answered here): not what is counted
    assert [m for _, m in log] == typed
    times = [t for t, _ in log]
    for i, start in enumerate(times):
        for j in range(i, len(times)):
            assert j - i + 1 <= 2 + (times[j] - start) * 10.0 + 1e-6


def test_any_of_finds_a_kind_sent_held_or_waiting_for_the_pace() -> None:
    requests = paced_requests()
    out: list[Action] = []
    requests.send(save("s-1"), T0, out.append)
    requests.send(save("s-2"), T0, out.append)
    assert requests.any_of(SaveMessage) and not requests.any_of((Join, Leave))
    requests.send(join("j-3"), T0, out.append)  # beyond the pace
    assert requests.any_of((Join, Leave)) and requests.any_of(Join)
    requests.send_paced(T0 + 0.1, out.append)  # sent now: still found
    assert requests.any_of(Join)
    requests.answer_came("j-3")
    assert not requests.any_of(Join)


def test_any_of_finds_a_request_taken_back_after_a_look_found_none() -> None:
    # the kinds `any_of` remembers are those on their way at its last look and those sent
    # since: one given up, looked for, then taken back is on its way again
    requests = Requests(SERVER, Settling(), timeout=1.0, attempts=1)
    out: list[Action] = []
    requests.send(join("j-1"), T0, out.append)
    again, failed = requests.due(T0 + 10)
    assert not again and [r.message.id for r in failed] == ["j-1"]
    assert not requests.any_of(Join)
    requests.take_back(failed, T0 + 10)
    assert requests.any_of(Join) and not requests.any_of(Leave)
