"""The per-address token bucket."""

import pytest

from registry.core.flood import (
    MAX_TRACKED,
    PASSWORD_BURST,
    PASSWORD_EVERY,
    PASSWORD_GLOBAL_BURST,
    PASSWORD_RATE,
    PASSWORD_RESERVED,
    WARN_EVERY,
    FloodGate,
    PasswordBudget,
)


def test_burst_then_rate() -> None:
    gate = FloodGate(rate=10, burst=5)
    a = ("127.0.0.1", 1)
    assert [gate.admit(a, 0.0)[0] for _ in range(7)] == [True] * 5 + [False] * 2
    assert gate.admit(a, 0.1)[0]  # 0.1 s at 10/s gives one back
    assert not gate.admit(a, 0.1)[0]


def test_warns_at_most_every_period() -> None:
    gate = FloodGate(rate=1, burst=1)
    a = ("127.0.0.1", 1)
    gate.admit(a, 0.0)
    warns = [gate.admit(a, t / 100)[1] for t in range(1, 100)]
    assert warns.count(True) == 1
    gate.admit(a, WARN_EVERY + 0.5)  # refilled: admitted
    assert gate.admit(a, WARN_EVERY + 0.5) == (False, True)


def test_a_clock_stepped_back_slows_an_address_for_an_interval_not_for_the_step() -> None:
    # the registry reads the wall clock: counted in tokens, an hour back cost an hour
    gate = FloodGate(rate=10, burst=2)
    a, now = ("127.0.0.1", 1), 1_700_000_000.0
    assert gate.admit(a, now)[0] and gate.admit(a, now)[0]
    back = now - 3600
    assert not gate.admit(a, back)[0]  # no uses from the step
    assert gate.ready_in(a, back) == pytest.approx(0.1)
    assert gate.admit(a, back + 0.1)[0]


def test_wait_and_ready_in_agree() -> None:
    gate = FloodGate(rate=0.5, burst=2)
    a = "10.0.0.1"
    assert gate.ready_in(a, 0.0) == 0.0
    assert gate.wait(a, 0.0) == 0.0 and gate.wait(a, 0.0) == 0.0
    assert gate.ready_in(a, 0.0) == 2.0 and gate.wait(a, 0.0) == 2.0
    assert gate.ready_in(a, 1.0) == pytest.approx(1.0)
    assert gate.wait(a, 2.0) == 0.0 and gate.ready_in(a, 2.0) == 2.0


def test_tracked_addresses_are_bounded_and_asking_tracks_none() -> None:
    gate = FloodGate(rate=1, burst=1)
    ports = range(MAX_TRACKED + 50)
    for port in ports:
        gate.admit(("10.0.0.1", port), 0.0)
    for port in ports:  # asking remembers nothing: none of those admitted is forgotten for it
        assert gate.ready_in(("10.0.0.2", port), 0.0) == 0
    waits = [gate.ready_in(("10.0.0.1", port), 0.0) for port in ports]
    assert waits == [0] * 50 + [1] * MAX_TRACKED  # the first 50 forgotten: a full bucket


def test_the_address_heard_least_lately_is_forgotten_first() -> None:
    # an address heard again is kept: a flood of new ones forgets the quiet ones first
    gate = FloodGate(rate=1, burst=2)
    busy = ("10.0.0.1", 1)
    assert gate.admit(busy, 0.0)[0] and gate.admit(busy, 0.0)[0]
    for port in range(MAX_TRACKED - 1):
        gate.admit(("10.0.0.2", port), 0.0)
    assert not gate.admit(busy, 0.0)[0]  # heard again: the most recent, its bucket empty
    gate.admit(("10.0.0.3", 1), 0.0)  # one over: 10.0.0.2's first port goes, not busy
    assert gate.ready_in(busy, 0.0) > 0
    assert gate.admit(("10.0.0.2", 0), 0.0)[0] and gate.admit(("10.0.0.2", 0), 0.0)[0]  # full


def test_password_checks_per_ip_share_one_allowance_and_say_how_long_to_wait() -> None:
    budget, burst = PasswordBudget(), int(PASSWORD_BURST)
    assert [budget.charge("10.0.0.1", 0.0) for _ in range(burst)] == [0.0] * burst
    wait = budget.charge("10.0.0.1", 0.0)  # any port of that IP: the same allowance
    assert wait == PASSWORD_EVERY and budget.refused == 1
    assert budget.charge("10.0.0.2", 0.0) == 0.0  # another machine has its own
    assert budget.charge("10.0.0.1", PASSWORD_EVERY) == 0.0  # one back every PASSWORD_EVERY
    assert budget.charge("10.0.0.1", PASSWORD_EVERY) > 0


def test_password_checks_in_all_are_bounded_whatever_the_addresses() -> None:
    budget = PasswordBudget()
    allowed = [budget.charge(f"10.0.{n // 250}.{n % 250}", 0.0) == 0.0 for n in range(1000)]
    assert allowed.count(True) == PASSWORD_GLOBAL_BURST  # spoofed addresses are no way round it
    waits = [budget.charge(f"10.1.0.{n}", 0.0) for n in range(3)]
    assert all(wait >= 1.0 for wait in waits)
    # in the ten seconds after the burst, at most PASSWORD_RATE a second were hashed
    checks = sum(budget.charge(f"10.2.0.{n % 250}", n / 100) == 0.0 for n in range(1000))
    assert checks <= PASSWORD_RATE * 10 + 1


def test_one_address_flooding_wrong_passwords_never_makes_others_wait() -> None:
    # Issue: a flood from one address spent the checks in all, and honest users waited
    budget = PasswordBudget()
    others = []
    got = 0
    for second in range(40):
        # every second a burst of ten from one guesser, and every other second a person on
        # a machine of their own typing their password at that moment (each check costs
        # some 0.3 s of the registry's one thread: it spends at most two a second on them)
        for _ in range(10):
            if budget.charge("10.9.9.9", second) == 0.0:
                got += 1
                budget.wrong("10.9.9.9", second)
        if second % 2 == 0:
            others.append(budget.charge(f"10.0.{second}.1", second + 0.01))
    assert others == [0.0] * len(others)
    # the guesser's wait doubled after each wrong one: 1, 2, 4, 8, 16 s
    assert got == 6


def test_guessers_at_many_addresses_leave_the_reserve_to_the_others() -> None:
    budget, burst = PasswordBudget(), int(PASSWORD_GLOBAL_BURST)
    reserve = int(PASSWORD_RESERVED * burst)
    # as many addresses as the burst guess once each, then again once their wait is over
    for n in range(burst):
        budget.wrong(f"10.9.9.{n}", -10.0)
    taken = [budget.charge(f"10.9.9.{n}", 0.0) for n in range(burst)]
    # the global budget's reserve is kept for addresses that sent no wrong one
    assert taken == [0.0] * (burst - reserve) + [1.0] * reserve
    assert [budget.charge(f"10.0.0.{n}", 0.0) for n in range(reserve)] == [0.0] * reserve
    assert budget.charge("10.0.0.9", 0.0) >= 1.0  # the budget in all still holds
