"""A name's owner is never locked out by someone else's guessing: the owner's key proves the
name with no password checked, and the checks others ask for (each challenge begun, on a
thread: registry/adapter/password_checks.py) are budgeted per address and in all, with a wait
that doubles after each wrong proof for the address that sent it (registry/core/flood.py
PasswordBudget), so that the guesser pays, and the guesser alone."""

from __future__ import annotations

import pytest

from registry.core.actions import Action, CheckPassword
from registry.core.dispatch import RegistryCore
from registry.core.flood import (
    PASSWORD_GLOBAL_BURST,
    PASSWORD_RATE,
    WRONG_WAIT_MOST,
    PasswordBudget,
)
from registry.core.registration import CHECKS_AT_ONCE
from tests.registry.core_helpers import T0, checked_at_once, core, sends
from tests.registry.password_client import (
    guess,
    login,
    random_proof,
    registered,
    said,
    set_password,
)
from wire.messages import Busy, Deregister, PasswordAsk, Refused, Register, Welcome
from wire.version import WIRE_VERSION

PAT = ("10.0.0.1", 7001)
SAM = ("10.0.0.2", 7002)


def key(n: int) -> bytes:
    return n.to_bytes(2, "big") * 16


def offline_with_password(reg: RegistryCore, name: str, addr: tuple[str, int], k: bytes) -> None:
    welcome = set_password(reg, name, "sesame", addr, k, T0, f"{name}-1")
    assert isinstance(welcome, Welcome)
    reg.receive(Deregister(f"{name}-d", name, welcome.token, False, ""), addr, T0, key=k)


def _begun(checks: list[CheckPassword]) -> list[CheckPassword]:
    """The checks that began a challenge (not those that checked a proof)."""
    return [c for c in checks if c.session is None]


def guess_at_pat(reg: RegistryCore, n: int, now: float) -> object:
    """Guess number `n` at pat's password, from a key and an address of its own."""
    guesser = (f"10.1.{n // 200}.{n % 200 + 1}", 30000 + n)
    return guess(reg, "pat", guesser, key(1000 + n), now, f"g-{n}")


def test_the_owners_key_gets_in_while_many_keys_and_addresses_guess(
    password_checks: list[CheckPassword],
) -> None:
    reg = core()
    offline_with_password(reg, "pat", PAT, key(1))
    password_checks.clear()
    welcomed = 0
    for n in range(300):
        now = T0 + n / 10
        guess_at_pat(reg, n, now)
        if n % 30 == 29:  # the owner comes back now and then, with its password typed too
            got = login(reg, "pat", "sesame", PAT, key(1), now, f"pat-{n}")
            welcomed += isinstance(got, Welcome)
            reg.receive(Deregister(f"pat-d{n}", "pat", got.token, False, ""), PAT, now, key=key(1))  # type: ignore[union-attr]
    assert welcomed == 10
    # the guessers, from 300 keys at 300 addresses over 30 s, had no more challenges than
    # the registry makes in all (one each at most: each waits after its wrong proof)
    begun = _begun(password_checks)
    assert len(begun) <= PASSWORD_GLOBAL_BURST + 30 * PASSWORD_RATE + 1
    assert all(c.client != key(1) for c in begun)  # the owner's key needed none
    # each challenge served one proof at most
    assert len(password_checks) - len(begun) <= len(begun)


def guess_from(reg: RegistryCore, n: int, name: str, now: float) -> object:
    """Guess number `n` at `name`'s password with a new key, from one of ten addresses."""
    guesser = (f"10.1.0.{n % 10 + 1}", 30000 + n % 10)
    return guess(reg, name, guesser, key(1000 + n), now, f"g-{n}")


def on_a_new_machine(reg: RegistryCore, name: str, n: int, now: float) -> object:
    """`name`'s owner on a machine never used before (a new key, a new address): only
    the password proves the name; the Welcome or Refused, and the name left offline."""
    new_machine = (f"10.0.9.{n % 250 + 1}", 7100 + n)
    got = login(reg, name, "sesame", new_machine, key(500 + n), now, f"{name}-{n}")
    if isinstance(got, Welcome):
        bye = Deregister(f"{name}-d{n}", name, got.token, False, "")
        reg.receive(bye, new_machine, now, key=key(500 + n))
    return got


@pytest.mark.parametrize("guessed", ["pat", "sam"])
def test_guesses_from_ten_addresses_never_keep_the_owner_from_a_new_machine(
    guessed: str,
) -> None:
    # the owner's own name guessed, or another one: it makes no difference
    reg = core()
    offline_with_password(reg, "pat", PAT, key(1))
    offline_with_password(reg, "sam", SAM, key(2))
    refused = []
    for n in range(400):
        now = T0 + n / 20  # twenty guesses a second, each with a new key
        got = guess_from(reg, n, guessed, now)
        assert not isinstance(got, Welcome)
        refused.append(said(got))
        # after the first second: ten addresses never heard from take a check each from
        # what is not kept for others (the reserve is kept from an address once it guessed)
        if n % 20 == 10 and n > 20:
            assert isinstance(on_a_new_machine(reg, "sam", n, now), Welcome)
    assert refused[0] == f"Wrong password for {guessed}."
    assert refused[-1] == "wait"
    # ten addresses in 20 s: a handful of checks each, as their waits doubled
    assert refused.count(f"Wrong password for {guessed}.") <= 10 * 5


def test_the_wait_after_a_wrong_password_doubles_for_its_address_only() -> None:
    budget = PasswordBudget()
    waits = []
    now = T0
    for _ in range(14):
        assert budget.charge("10.0.0.9", now) == 0.0
        budget.wrong("10.0.0.9", now)
        waits.append(budget.waiting("10.0.0.9", now))
        now += waits[-1]
    # from WRONG_WAIT_FIRST, a second, up to WRONG_WAIT_MOST
    assert waits == [2.0**n for n in range(12)] + [WRONG_WAIT_MOST] * 2
    assert budget.charge("10.0.0.9", now - 1) >= 1.0  # still waiting
    assert budget.charge("10.0.0.10", now - 1) == 0.0  # another address does not wait
    # a day without a wrong one: forgotten, and its wait starts over
    later = now + 24 * 3600 + 9
    budget.wrong("10.0.0.9", later)
    assert budget.waiting("10.0.0.9", later) == 1.0


def test_the_refusal_is_the_same_whether_or_not_the_name_has_a_password(
    password_checks: list[CheckPassword],
) -> None:
    reg = core()
    offline_with_password(reg, "pat", PAT, key(1))
    welcome = registered(reg, "nopw", ("10.0.0.3", 7003), key(3), T0, "n-1")
    assert isinstance(welcome, Welcome)
    reg.receive(
        Deregister("n-d", "nopw", welcome.token, False, ""), ("10.0.0.3", 7003), T0, key=key(3)
    )
    password_checks.clear()
    said: dict[str, list[str]] = {}
    for m, name in enumerate(("pat", "nopw")):
        for n in range(4):
            guesser = (f"10.2.{m}.{n + 1}", 40000 + n)
            got = login(
                reg, name, "guess", guesser, key(2000 + 10 * m + n), T0 + 10 * m + n, f"{name}-g{n}"
            )
            assert isinstance(got, Refused)
            said.setdefault(name, []).append(got.reason.replace(name, "NAME"))
    assert said["pat"] == said["nopw"]
    # each asked and checked alike (a challenge begun, a proof checked): its time tells
    # nothing either
    assert [c.name for c in _begun(password_checks)] == ["pat"] * 4 + ["nopw"] * 4
    assert len(password_checks) == 16


@pytest.mark.two_step
def test_guessers_have_at_most_checks_at_once_under_way_and_others_are_not_held() -> None:
    """Addresses that sent a wrong proof lately have at most CHECKS_AT_ONCE checks under
    way at once, however much of the budget in all is left: one more is refused, to try
    again; an address that guessed nothing is checked all the same, so the checks' threads
    are never all the guessers'."""
    reg = core()
    welcome = set_password(reg, "pat", "sesame", PAT, key(1), T0, "pat-1")
    assert isinstance(welcome, Welcome)
    reg.receive(Deregister("pat-d", "pat", welcome.token, False, ""), PAT, T0, key=key(1))
    guessers = [(f"10.1.0.{n + 1}", 30000 + n) for n in range(CHECKS_AT_ONCE + 1)]
    for n, addr in enumerate(guessers):  # each guesses once, and is found wrong
        now = T0 + 1 + n
        out = checked_at_once(reg, reg.receive(_ask(f"g-{n}"), addr, now, key=key(100 + n)), now)
        assert [type(m).__name__ for m in _said(out)] == ["PasswordChallenge"]
        wrong = Register(f"g-{n}", "pat", 9, "", random_proof(), WIRE_VERSION)
        out = checked_at_once(reg, reg.receive(wrong, addr, now, key=key(100 + n)), now)
        assert _said(out) == ["Wrong password for pat."]
    now = T0 + 60  # their waits are over, and the budget in all is full again
    under_way = [
        reg.receive(_ask(f"h-{n}"), a, now, key=key(100 + n)) for n, a in enumerate(guessers[:-1])
    ]
    assert all(any(isinstance(a, CheckPassword) for a in out) for out in under_way)
    now += 1  # the budget in all gains back what they took; their checks are not done yet
    n = CHECKS_AT_ONCE
    out = reg.receive(_ask(f"h-{n}"), guessers[-1], now, key=key(100 + n))
    assert not any(isinstance(a, CheckPassword) for a in out)
    assert [(type(m), m.wait_ms) for _, m in sends(out)] == [(Busy, 1000)]
    out = reg.receive(_ask("s-1"), SAM, now, key=key(99))  # never guessed
    assert any(isinstance(a, CheckPassword) for a in out)


def _ask(msg_id: str) -> PasswordAsk:
    return PasswordAsk(msg_id, "pat")


def _said(out: list[Action]) -> list[object]:
    """What `out` sends: a refusal as its reason."""
    return [m.reason if isinstance(m, Refused) else m for _, m in sends(out)]
