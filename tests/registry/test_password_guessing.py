"""A name's owner is never locked out by someone else's guessing: the owner's key proves the
name with no password checked, and the checks others ask for are budgeted per address and
in all, with a wait that doubles after each wrong password for the address that sent it
(registry/core/flood.py PasswordBudget), so that the guesser pays, and the guesser alone."""

from __future__ import annotations

import pytest

from registry.core import credentials
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
from wire.messages import Deregister, Refused, Register, Welcome
from wire.version import WIRE_VERSION

PAT = ("10.0.0.1", 7001)
SAM = ("10.0.0.2", 7002)


def key(n: int) -> bytes:
    return n.to_bytes(2, "big") * 16


def answer(
    reg: RegistryCore, msg: Register, addr: tuple[str, int], with_key: bytes, now: float
) -> object:
    """The Welcome or Refused that answers `msg`."""
    out = reg.receive(msg, addr, now, key=with_key)
    return next(m for a, m in sends(out) if a == addr and isinstance(m, Welcome | Refused))


def offline_with_password(reg: RegistryCore, name: str, addr: tuple[str, int], k: bytes) -> None:
    msg = Register(f"{name}-1", name, addr[1], "", "sesame", WIRE_VERSION)
    welcome = answer(reg, msg, addr, k, T0)
    assert isinstance(welcome, Welcome)
    reg.receive(Deregister(f"{name}-d", name, welcome.token, False, ""), addr, T0, key=k)


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The passwords the registry hashes (each a scrypt on its only thread)."""
    hashed: list[str] = []
    real = credentials.hash_password

    def counted(password: str, salt: bytes) -> str:
        hashed.append(password)
        return real(password, salt)

    monkeypatch.setattr(credentials, "hash_password", counted)
    return hashed


def guess(reg: RegistryCore, n: int, now: float) -> object:
    """Guess number `n` at pat's password, from a key and an address of its own."""
    guesser = (f"10.1.{n // 200}.{n % 200 + 1}", 30000 + n)
    msg = Register(f"g-{n}", "pat", guesser[1], "", f"wrong{n}", WIRE_VERSION)
    return answer(reg, msg, guesser, key(1000 + n), now)


@pytest.mark.needs_pure  # counts the hashes through credentials.hash_password
def test_the_owners_key_gets_in_while_many_keys_and_addresses_guess(hashes: list[str]) -> None:
    reg = core()
    offline_with_password(reg, "pat", PAT, key(1))
    hashes.clear()
    welcomed = 0
    for n in range(300):
        now = T0 + n / 10
        guess(reg, n, now)
        if n % 30 == 29:  # the owner comes back now and then, with its password typed too
            msg = Register(f"pat-{n}", "pat", PAT[1], "", "sesame", WIRE_VERSION)
            got = answer(reg, msg, PAT, key(1), now)
            welcomed += isinstance(got, Welcome)
            reg.receive(Deregister(f"pat-d{n}", "pat", got.token, False, ""), PAT, now, key=key(1))  # type: ignore[attr-defined]
    assert welcomed == 10
    # the guessers, from 300 keys at 300 addresses over 30 s, had no more checks than the
    # registry does in all (one each at most: each waits after its wrong one)
    assert len(hashes) <= PASSWORD_GLOBAL_BURST + 30 * PASSWORD_RATE + 1
    assert all(h.startswith("wrong") for h in hashes)  # the owner's key needed none


def guess_from(reg: RegistryCore, n: int, name: str, now: float) -> object:
    """Guess number `n` at `name`'s password with a new key, from one of ten addresses."""
    guesser = (f"10.1.0.{n % 10 + 1}", 30000 + n % 10)
    msg = Register(f"g-{n}", name, guesser[1], "", f"wrong{n}", WIRE_VERSION)
    return answer(reg, msg, guesser, key(1000 + n), now)


def on_a_new_machine(reg: RegistryCore, name: str, n: int, now: float) -> object:
    """`name`'s owner on a machine never used before (a new key, a new address): only
    the password proves the name; the Welcome or Refused, and the name left offline."""
    new_machine = (f"10.0.9.{n % 250 + 1}", 7100 + n)
    msg = Register(f"{name}-{n}", name, new_machine[1], "", "sesame", WIRE_VERSION)
    got = answer(reg, msg, new_machine, key(500 + n), now)
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
        assert isinstance(got, Refused)
        refused.append(got.reason)
        # after the first second: ten addresses never heard from take a check each from
        # what is not kept for others (the reserve is kept from an address once it guessed)
        if n % 20 == 10 and n > 20:
            assert isinstance(on_a_new_machine(reg, "sam", n, now), Welcome)
    assert refused[0] == f"Wrong password for {guessed}."
    assert refused[-1].startswith("Too many password attempts; try again in ")
    # ten addresses in 20 s: a handful of checks each, as their waits doubled
    assert refused.count(f"Wrong password for {guessed}.") <= 10 * 5


def test_the_wait_after_a_wrong_password_doubles_for_its_address_only() -> None:
    budget = PasswordBudget()
    waits = []
    now = T0
    for _ in range(14):
        assert budget.take("10.0.0.9", now) == 0.0
        budget.wrong("10.0.0.9", now)
        waits.append(budget.waiting("10.0.0.9", now))
        now += waits[-1]
    # from WRONG_WAIT_FIRST, a second, up to WRONG_WAIT_MOST
    assert waits == [2.0**n for n in range(12)] + [WRONG_WAIT_MOST] * 2
    assert budget.take("10.0.0.9", now - 1) >= 1.0  # still waiting
    assert budget.take("10.0.0.10", now - 1) == 0.0  # another address does not wait
    # a day without a wrong one: forgotten, and its wait starts over
    later = now + 24 * 3600 + 9
    budget.wrong("10.0.0.9", later)
    assert budget.waiting("10.0.0.9", later) == 1.0


@pytest.mark.needs_pure  # counts the hashes through credentials.hash_password
def test_the_refusal_is_the_same_whether_or_not_the_name_has_a_password(
    hashes: list[str],
) -> None:
    reg = core()
    offline_with_password(reg, "pat", PAT, key(1))
    msg = Register("n-1", "nopw", 7003, "", "", WIRE_VERSION)
    welcome = answer(reg, msg, ("10.0.0.3", 7003), key(3), T0)
    assert isinstance(welcome, Welcome)
    reg.receive(
        Deregister("n-d", "nopw", welcome.token, False, ""), ("10.0.0.3", 7003), T0, key=key(3)
    )
    hashes.clear()
    said: dict[str, list[str]] = {}
    for m, name in enumerate(("pat", "nopw")):
        for n in range(4):
            guesser = (f"10.2.{m}.{n + 1}", 40000 + n)
            msg = Register(f"{name}-g{n}", name, guesser[1], "", "guess", WIRE_VERSION)
            got = answer(reg, msg, guesser, key(2000 + 10 * m + n), T0 + 10 * m + n)
            assert isinstance(got, Refused)
            said.setdefault(name, []).append(got.reason.replace(name, "NAME"))
    assert said["pat"] == said["nopw"]
    assert hashes.count("guess") == 8  # each checked alike: its time tells nothing either


@pytest.mark.two_step
def test_guessers_have_at_most_checks_at_once_under_way_and_others_are_not_held() -> None:
    """Addresses that sent a wrong password lately have at most CHECKS_AT_ONCE checks under
    way at once, however much of the budget in all is left: one more is refused, to try
    again; an address that guessed nothing is checked all the same, so the checks' threads
    are never all the guessers'."""
    reg = core()
    got = checked_at_once(reg, reg.receive(_register("pat-1", "sesame"), PAT, T0, key=key(1)), T0)
    welcome = next(m for _, m in sends(got) if isinstance(m, Welcome))
    reg.receive(Deregister("pat-d", "pat", welcome.token, False, ""), PAT, T0, key=key(1))
    guessers = [(f"10.1.0.{n + 1}", 30000 + n) for n in range(CHECKS_AT_ONCE + 1)]
    for n, addr in enumerate(guessers):  # each guesses once, and is found wrong
        now = T0 + 1 + n
        got = checked_at_once(
            reg, reg.receive(_register(f"g-{n}"), addr, now, key=key(100 + n)), now
        )
        assert _said(got) == ["Wrong password for pat."]
    now = T0 + 60  # their waits are over, and the budget in all is full again
    under_way = [
        reg.receive(_register(f"h-{n}"), a, now, key=key(100 + n))
        for n, a in enumerate(guessers[:-1])
    ]
    assert all(any(isinstance(a, CheckPassword) for a in out) for out in under_way)
    now += 1  # the budget in all gains back what they took; their checks are not done yet
    n = CHECKS_AT_ONCE
    out = reg.receive(_register(f"h-{n}"), guessers[-1], now, key=key(100 + n))
    assert not any(isinstance(a, CheckPassword) for a in out)
    assert _said(out) == ["Too many password attempts; try again in 1 s."]
    out = reg.receive(_register("s-1"), SAM, now, key=key(99))  # never guessed
    assert any(isinstance(a, CheckPassword) for a in out)


def _register(msg_id: str, password: str = "wrong") -> Register:
    return Register(msg_id, "pat", 9, "", password, WIRE_VERSION)


def _said(out: list[Action]) -> list[object]:
    """What `out` sends: a refusal as its reason."""
    return [m.reason if isinstance(m, Refused) else m for _, m in sends(out)]
