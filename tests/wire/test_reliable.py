"""The ack-and-retry bookkeeping: wait 500 ms, at most 5 copies in all (docs/PROTOCOL.md,
"Ids, acks and retries").

Time is a parameter: every test drives a fake `now` and never sleeps.
"""

from __future__ import annotations

import re
import weakref

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from tests.hypothesis_profiles import examples
from wire.base import IdMaker
from wire.reliable import ATTEMPTS, TIMEOUT, Alarm, Retransmitter

#: The wait the tests of the mechanism give it, whatever TIMEOUT is: the times they drive
#: are written for it (only `test_defaults_are_the_design_values` holds TIMEOUT to 0.5).
WAIT = 0.5


def run_until(
    rt: Retransmitter[str], times: list[float]
) -> dict[float, tuple[list[str], list[str]]]:
    """Call `due` at each time and record what it returned."""
    return {t: rt.due(t) for t in times}


def test_defaults_are_the_design_values() -> None:
    assert TIMEOUT == 0.5
    assert ATTEMPTS == 5
    rt: Retransmitter[str] = Retransmitter()
    assert (rt.timeout, rt.attempts) == (0.5, 5)


def test_five_copies_then_give_up() -> None:
    rt: Retransmitter[str] = Retransmitter(WAIT)
    rt.start("k", "request", now=0.0)  # the first copy, sent by the owner at t=0
    assert rt.next_wake() == 0.5
    assert rt.due(0.49) == ([], [])
    copies = 1
    for t in (0.5, 1.0, 1.5, 2.0):
        assert rt.next_wake() == t
        assert rt.due(t) == (["request"], [])
        copies += 1
        assert rt.due(t) == ([], [])  # asking twice at the same time sends nothing more
    assert copies == 5
    assert rt.next_wake() == 2.5
    assert rt.due(2.49) == ([], [])
    assert rt.due(2.5) == ([], ["request"])
    assert len(rt) == 0
    assert rt.next_wake() is None
    assert rt.due(100.0) == ([], [])
    assert rt.answer("k") is None  # a late answer for a given-up request is unknown


def test_answer_stops_resending() -> None:
    rt: Retransmitter[str] = Retransmitter(WAIT)
    rt.start("k", "request", now=0.0)
    assert rt.due(0.5) == (["request"], [])
    assert rt.get("k") == "request"
    assert rt.answer("k") == "request"
    assert rt.get("k") is None
    assert len(rt) == 0
    assert rt.next_wake() is None
    assert run_until(rt, [1.0, 1.5, 2.0, 2.5, 10.0]) == {
        t: ([], []) for t in [1.0, 1.5, 2.0, 2.5, 10.0]
    }
    assert rt.answer("k") is None  # a duplicate ack is harmless


def test_answer_before_any_resend() -> None:
    rt: Retransmitter[str] = Retransmitter(WAIT)
    rt.start("k", "request", now=3.0)
    assert rt.answer("k") == "request"
    assert rt.due(3.5) == ([], [])


def test_unknown_answer_is_none() -> None:
    rt: Retransmitter[str] = Retransmitter(WAIT)
    assert rt.answer("nobody") is None
    rt.start("k", "request", now=0.0)
    assert rt.answer("other") is None
    assert len(rt) == 1


def test_next_wake() -> None:
    rt: Retransmitter[str] = Retransmitter(WAIT)
    assert rt.next_wake() is None
    rt.start("a", "A", now=1.0)
    assert rt.next_wake() == 1.5
    rt.start("b", "B", now=1.25)
    assert rt.next_wake() == 1.5
    assert rt.due(1.5) == (["A"], [])
    assert rt.next_wake() == 1.75  # b is now the earliest; a waits until 2.0
    # A late wake-up resends once and counts the next wait from when it actually sent.
    assert rt.due(1.9) == (["B"], [])
    assert rt.next_wake() == 2.0
    assert rt.due(2.1) == (["A"], [])
    assert rt.next_wake() == pytest.approx(2.4)
    rt.answer("b")
    assert rt.next_wake() == pytest.approx(2.6)
    rt.answer("a")
    assert rt.next_wake() is None


def test_a_late_wake_sends_one_copy_not_a_burst() -> None:
    rt: Retransmitter[str] = Retransmitter(WAIT)
    rt.start("k", "request", now=0.0)
    assert rt.due(60.0) == (["request"], [])
    assert rt.next_wake() == 60.5


def test_a_clock_stepped_back_never_loses_a_retry() -> None:
    rt: Retransmitter[str] = Retransmitter(WAIT)
    rt.start("a", "A", now=10.0)
    rt.start("b", "B", now=5.0)  # the wall clock jumped back 5 s in between
    assert rt.next_wake() == 5.5  # each waits its own wait
    assert rt.due(5.5) == (["B"], [])
    assert rt.due(10.5) == (["A", "B"], [])  # b sent again at 5.5: due since 6.0
    assert sorted(rt.items()) == ["A", "B"]


def test_renew_starts_the_attempts_over_for_what_waits_oldest_first() -> None:
    rt: Retransmitter[str] = Retransmitter(WAIT)
    rt.start("b", "B", now=0.0)
    rt.start("a", "A", now=0.25)
    for t in (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25):
        rt.due(t)  # by 2.25 both sent their fifth and last copy
    rt.start("c", "C", now=2.4)  # sent just now: left as it is
    assert rt.renew(2.4) == ["B", "A"]
    assert rt.next_wake() == 2.9
    assert rt.due(2.9) == (["B", "A", "C"], [])  # their second copy, not a give-up
    assert rt.renew(2.9) == []


def test_keys_are_independent() -> None:
    rt: Retransmitter[str] = Retransmitter(WAIT)
    rt.start("a", "A", now=0.0)
    rt.start("b", "B", now=0.25)
    rt.start("c", "C", now=0.25)
    assert rt.items() == ["A", "B", "C"]
    assert rt.due(0.5) == (["A"], [])
    assert rt.due(0.75) == (["B", "C"], [])
    assert rt.answer("c") == "C"
    for t in (1.0, 1.5, 2.0):
        assert rt.due(t) == (["A"], [])
        assert rt.due(t + 0.25) == (["B"], [])
    assert rt.due(2.5) == ([], ["A"])
    assert rt.items() == ["B"]
    assert rt.get("b") == "B"
    assert rt.due(2.75) == ([], ["B"])
    assert len(rt) == 0


@pytest.mark.parametrize(("timeout", "attempts"), [(0.5, 1), (0.1, 3), (2.0, 7)])
def test_other_settings(timeout: float, attempts: int) -> None:
    rt: Retransmitter[int] = Retransmitter(timeout=timeout, attempts=attempts)
    rt.start("k", 42, now=0.0)
    now = 0.0
    copies = 1
    while True:
        wake = rt.next_wake()
        assert wake is not None
        assert wake == pytest.approx(now + timeout)
        now = wake
        again, failed = rt.due(now)
        if failed:
            assert (again, failed) == ([], [42])
            break
        assert again == [42]
        copies += 1
    assert copies == attempts
    assert now == pytest.approx(attempts * timeout)


@pytest.mark.parametrize(("timeout", "attempts"), [(0, 5), (-0.5, 5), (0.5, 0), (0.5, -1)])
def test_bad_settings_are_refused(timeout: float, attempts: int) -> None:
    with pytest.raises(ValueError):
        Retransmitter(timeout=timeout, attempts=attempts)


# -- a stateful model ---------------------------------------------------------------------


class RetransmitterMachine(RuleBasedStateMachine):
    """Starts, answers and the passing of time in any order, checked against a model.

    The model remembers, per key, how many copies went out and when the last one did.
    Items are the keys themselves, so `due`'s lists name the keys.
    """

    keys = Bundle("keys")

    def __init__(self) -> None:
        super().__init__()
        self.alarm = Alarm()
        self.rt: Retransmitter[str] = Retransmitter(WAIT, alarm=self.alarm)
        self.ids = IdMaker("m")
        self.now = 0.0
        self.order: list[str] = []  # every started key, in start order
        self.copies: dict[str, int] = {}
        self.last_sent: dict[str, float] = {}
        self.outcome: dict[str, str] = {}

    @initialize(timeout=st.sampled_from([0.5, 0.1, 1.0]), attempts=st.integers(1, 6))
    def configure(self, timeout: float, attempts: int) -> None:
        self.rt = Retransmitter(timeout=timeout, attempts=attempts, alarm=self.alarm)

    def waiting(self) -> list[str]:
        return [k for k in self.order if k not in self.outcome]

    def end(self, key: str, how: str) -> None:
        assert key in self.copies, f"{key} ended but was never started"
        assert key not in self.outcome, f"{key} ended twice: {self.outcome[key]} and {how}"
        self.outcome[key] = how

    def tick(self) -> None:
        again, failed = self.rt.due(self.now)
        assert len(set(again)) == len(again)
        for key in again:
            assert key not in self.outcome
            assert self.now >= self.last_sent[key] + self.rt.timeout  # never early
            self.copies[key] += 1
            self.last_sent[key] = self.now
            assert self.copies[key] <= self.rt.attempts
        for key in failed:
            assert self.copies[key] == self.rt.attempts  # gave up only after every copy
            assert self.now >= self.last_sent[key] + self.rt.timeout  # and a last wait
            self.end(key, "failed")
        # Nothing overdue is left behind.
        wake = self.rt.next_wake()
        assert wake is None or wake > self.now

    @rule(target=keys)
    def start(self) -> str:
        key = self.ids()
        self.rt.start(key, key, self.now)
        self.order.append(key)
        self.copies[key] = 1
        self.last_sent[key] = self.now
        return key

    @rule(key=keys)
    def answer(self, key: str) -> None:
        expected = None if key in self.outcome else key
        assert self.rt.answer(key) == expected
        if expected is not None:
            self.end(key, "answered")

    @rule(key=st.text(max_size=5))
    def answer_unknown(self, key: str) -> None:
        if key not in self.copies:
            assert self.rt.answer(key) is None

    @rule()
    def renew(self) -> None:
        # sent at `now` already: left as it is (any time before `now`, however close, is not)
        expected = [k for k in self.waiting() if self.last_sent[k] < self.now]
        assert self.rt.renew(self.now) == expected
        for key in expected:
            self.copies[key] = 1
            self.last_sent[key] = self.now

    @rule(dt=st.floats(min_value=0, max_value=3, allow_nan=False, allow_infinity=False))
    def advance(self, dt: float) -> None:
        self.now += dt
        self.tick()

    @precondition(lambda self: self.rt.next_wake() is not None)
    @rule()
    def wake(self) -> None:
        wake = self.rt.next_wake()
        assert wake is not None
        self.now = max(self.now, wake)
        self.tick()

    @invariant()
    def matches_model(self) -> None:
        waiting = self.waiting()
        assert len(self.rt) == len(waiting)
        assert self.rt.items() == waiting  # oldest first
        for key in waiting:
            assert self.rt.get(key) == key
            assert 1 <= self.copies[key] <= self.rt.attempts
        expected_wake = min((self.last_sent[k] + self.rt.timeout for k in waiting), default=None)
        assert self.rt.next_wake() == expected_wake
        # the alarm, lowered to each deadline armed, is never later than the next one
        assert expected_wake is None or (
            self.alarm.at is not None and self.alarm.at <= expected_wake
        )

    def teardown(self) -> None:
        # Let time run out: every started key ends exactly once, answered or failed.
        for _ in range(self.rt.attempts * (len(self.order) + 1)):
            wake = self.rt.next_wake()
            if wake is None:
                break
            self.now = max(self.now, wake)
            self.tick()
        assert self.rt.next_wake() is None
        assert set(self.outcome) == set(self.order)


TestRetransmitterMachine = RetransmitterMachine.TestCase
TestRetransmitterMachine.settings = settings(
    max_examples=examples(50), stateful_step_count=30, deadline=None
)


# -- ids ----------------------------------------------------------------------------------


def test_id_maker_is_unique_and_shaped() -> None:
    make = IdMaker("s1")
    ids = [make() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert ids[:3] == ["s1-1", "s1-2", "s1-3"]
    assert all(re.fullmatch(r"s1-\d+", i) for i in ids)


@settings(deadline=None)
@given(
    sessions=st.lists(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8),
        min_size=1,
        max_size=4,
        unique=True,
    ),
    calls=st.lists(st.integers(0, 3), max_size=60),
)
def test_id_makers_never_collide(sessions: list[str], calls: list[int]) -> None:
    makers = [IdMaker(s) for s in sessions]
    ids = [makers[i % len(makers)]() for i in calls]
    assert len(set(ids)) == len(ids)


def test_one_given_up_and_started_again_keeps_its_place_oldest_first() -> None:
    r: Retransmitter[str] = Retransmitter(timeout=1.0, attempts=1)
    r.start("a", "A", 0.0)
    r.start("b", "B", 0.5)
    assert r.due(1.0) == ([], ["A"])
    r.again("a", "A", 1.0)
    assert r.items() == ["A", "B"]
    assert r.renew(1.0, every=True) == ["A", "B"]  # even one sent at that time
    r.again("c", "C", 1.0)  # not given up by the last due: as start, last
    assert r.items() == ["A", "B", "C"]
    assert list(r.waiting) == ["a", "b", "c"]  # the view of what waits follows, in that order
    r.answer("b")
    assert "b" not in r.waiting and "a" in r.waiting and len(r.waiting) == len(r) == 2


def test_a_request_renewed_twice_at_one_instant_is_due_once_each_time() -> None:
    # heard from again, then moved to another end, at one instant: armed twice with one
    # deadline, the request was sent twice a round and given up twice (a KeyError)
    r: Retransmitter[str] = Retransmitter(timeout=1.0, attempts=2)
    r.start("a", "A", 0.0)
    r.renew(0.5)
    r.renew(0.5, every=True)
    assert r.due(1.5) == (["A"], [])
    assert r.due(2.5) == ([], ["A"])
    assert len(r) == 0 and r.due(3.5) == ([], [])


def test_an_alarm_is_lowered_to_each_deadline_and_never_raised_by_one() -> None:
    alarm = Alarm()
    rt: Retransmitter[str] = Retransmitter(WAIT, alarm=alarm)
    assert alarm.at is None
    rt.start("a", "a", 10.0)
    assert alarm.at == 10.0 + WAIT
    rt.start("b", "b", 11.0)
    assert alarm.at == 10.0 + WAIT  # a later deadline leaves it
    alarm.lower(None)
    assert alarm.at == 10.0 + WAIT
    rt.answer("a")
    assert alarm.at == 10.0 + WAIT  # early now: its owner sets it again after its timed work


def test_copies_backed_off_wait_twice_the_one_before_up_to_the_bound_each_round() -> None:
    r: Retransmitter[str] = Retransmitter(timeout=0.5, attempts=5)
    r.start("a", "A", 0.0, back_off_to=2.0)
    sent, now = [], 0.0
    while (wake := r.next_wake()) is not None:
        again, failed = r.due(wake)
        sent += [wake] * len(again)
        now = wake
        if failed:
            break
    assert sent == [0.5, 1.5, 3.5, 5.5] and now == 7.5  # 0.5, 1, 2, 2, then given up
    r.again("a", "A", now, back_off_to=2.0)  # a new round starts from the timeout again
    assert r.next_wake() == now + 0.5


def test_what_is_answered_in_order_is_let_go_at_once() -> None:
    """An item answered is not kept until the next wake-up: a peer sending thousands of
    messages a second would hold every one acked in the last half second."""

    class Item:
        pass

    rt: Retransmitter[Item] = Retransmitter(WAIT)
    gone = []
    for i in range(100):
        item = Item()
        gone.append(weakref.ref(item))
        rt.start(str(i), item, now=i * 0.001)
        del item
        assert rt.answer(str(i), now=i * 0.001 + 0.0005) is not None
    assert all(ref() is None for ref in gone)
