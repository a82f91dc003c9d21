"""The wait before a request to the registry is sent again (wire.reliable, its RoundTrip), on
a fake clock: RFC 6298's estimate, Karn's rule, the backoff and its cap, and when a round ends."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peer.core.requests import Requests
from peer.core.settling import Settling
from wire.messages import Keepalive
from wire.reliable import ATTEMPTS, RTO_MAX, TIMEOUT, Retransmitter, RoundTrip

T0 = 1000.0


def test_the_wait_starts_at_the_floor_and_the_cap_is_derived_from_it() -> None:
    assert RoundTrip().rto == TIMEOUT and RTO_MAX == 16 * TIMEOUT
    with pytest.raises(ValueError):
        RoundTrip(floor=0.0)


def test_a_first_sample_sets_the_estimate_as_rfc_6298_says() -> None:
    round_trip = RoundTrip()
    round_trip.sample(1.0)
    # SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR
    assert (round_trip.srtt, round_trip.rttvar, round_trip.rto) == (1.0, 0.5, 3.0)
    round_trip.sample(2.0)
    assert round_trip.rttvar == pytest.approx(0.75 * 0.5 + 0.25 * 1.0)
    assert round_trip.srtt == pytest.approx(0.875 * 1.0 + 0.125 * 2.0)


def test_a_quick_registry_keeps_the_wait_at_the_floor() -> None:
    round_trip = RoundTrip()
    for _ in range(20):
        round_trip.sample(0.001)
    assert round_trip.rto == TIMEOUT


@given(st.lists(st.floats(min_value=0, max_value=1e4), min_size=1, max_size=30))
def test_the_wait_stays_between_the_floor_and_the_cap(rtts: list[float]) -> None:
    round_trip = RoundTrip()
    for rtt in rtts:
        round_trip.sample(rtt)
        assert TIMEOUT <= round_trip.rto <= RTO_MAX
        assert TIMEOUT <= round_trip.backed_off(round_trip.rto) <= RTO_MAX


def copy_times(waits: Retransmitter[str], key: str, now: float) -> tuple[list[float], float]:
    """Run `waits` from `now` until `key`'s round is over: when its copies went (its
    first at `now`), and when the round ended."""
    times = [now]
    while (wake := waits.next_wake()) is not None:
        again, failed = waits.due(wake)
        times += [wake] * len(again)
        if failed:
            return times, wake
    raise AssertionError("no round ends")


def test_a_round_is_five_copies_half_a_second_apart_from_a_quick_registry() -> None:
    round_trip = RoundTrip()
    waits: Retransmitter[str] = Retransmitter(round_trip=round_trip)
    waits.start("a", "a", T0)
    times, end = copy_times(waits, "a", T0)
    assert times == pytest.approx([T0 + TIMEOUT * k for k in range(ATTEMPTS)])
    assert end == pytest.approx(T0 + ATTEMPTS * TIMEOUT)
    assert round_trip.rto == TIMEOUT  # unheard: perhaps lost, perhaps gone


def test_a_round_unanswered_keeps_the_wait_and_answers_after_copies_double_it_to_the_cap() -> None:
    round_trip = RoundTrip()
    waits: Retransmitter[str] = Retransmitter(round_trip=round_trip)
    waits.start("a", "a", T0)
    _, now = copy_times(waits, "a", T0)
    waits.again("a", "a", now)  # unanswered while the registry answered the rest
    times, now = copy_times(waits, "a", now)
    assert len(times) == ATTEMPTS and times[1] - times[0] == pytest.approx(TIMEOUT)
    waits.answer("a", None)
    gaps = []
    for k in range(6):  # each answered only after a copy: the registry is behind
        key = f"r{k}"
        waits.start(key, key, now)
        now += round_trip.rto
        waits.due(now)
        waits.answer(key, now + 0.1)
        gaps.append(round_trip.rto)
    assert gaps == pytest.approx([min(TIMEOUT * 2**k, RTO_MAX) for k in range(1, 7)])
    waits.start("b", "b", now)  # nothing measured since: the next request waits as long
    assert waits.next_wake() == now + RTO_MAX


def test_karns_rule_no_sample_from_a_request_sent_more_than_once() -> None:
    round_trip = RoundTrip()
    waits: Retransmitter[str] = Retransmitter(round_trip=round_trip)
    waits.start("a", "a", T0)
    waits.due(T0 + TIMEOUT)  # a second copy
    waits.answer("a", T0 + 0.6)
    # no sample; answered only after a copy, it may be behind: the next waits longer
    assert round_trip.srtt is None and round_trip.rto == 2 * TIMEOUT
    waits.start("b", "b", T0 + 1)
    waits.answer("b", T0 + 1.2)
    assert round_trip.srtt == pytest.approx(0.2)
    assert round_trip.rto == pytest.approx(0.2 + 4 * 0.1)  # SRTT + 4 RTTVAR


def test_a_give_up_returns_the_wait_to_the_estimate() -> None:
    round_trip = RoundTrip()
    round_trip.backed_off(RTO_MAX / 2)
    assert round_trip.rto == RTO_MAX
    round_trip.gave_up()
    assert round_trip.rto == TIMEOUT


def test_another_registry_is_measured_afresh() -> None:
    requests = Requests(("127.0.0.1", 9000), Settling())
    requests.round_trip.sample(3.0)
    requests.move_to(("127.0.0.1", 9001))
    assert requests.round_trip.srtt is None and requests.round_trip.rto == TIMEOUT


def copies_of_keepalives(answer_after: float, count: int) -> list[int]:
    """Copies sent of `count` keepalives in turn, each answered `answer_after` seconds after
    its first copy (a registry that far behind): how many copies each took."""
    requests = Requests(("127.0.0.1", 9000), Settling())
    now, heard, copies = T0, T0, []
    for k in range(count):
        keepalive = Keepalive(f"k-{k}", "alice", "tok")
        requests.send(keepalive, now, [].append, quiet=True)
        sent, answer_at = 1, now + answer_after
        while now < answer_at:
            now = round(now + 0.05, 6)
            requests.heard_at = heard
            again, failed = requests.due(now)
            assert not failed
            sent += len(again)
        requests.answer_came(keepalive.id, now)
        heard, copies = now, [*copies, sent]
        now += 1.0
    return copies


def test_a_registry_seconds_behind_is_asked_again_seldom_once_measured() -> None:
    # a join storm: the registry answers 3 s late. Retried every TIMEOUT (0.5 s), each
    # request was sent six or seven times, and the registry read all the copies.
    copies = copies_of_keepalives(6 * TIMEOUT, 12)
    assert copies[-6:] == [1] * 6  # measured: each is answered before its wait is over
    assert sum(copies) <= 2 * len(copies)


def test_a_quick_registry_is_asked_as_ever() -> None:
    assert copies_of_keepalives(0.01, 5) == [1] * 5
    # the first: one copy again after TIMEOUT
    assert copies_of_keepalives(1.4 * TIMEOUT, 3)[0] == 2
