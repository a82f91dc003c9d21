"""A name's owner is never locked out by someone else's guessing: the owner's key proves the
name with no password checked, and the checks others ask for are budgeted per address, per
name and in all (registry/flood.py PasswordBudget), so that the guesser pays."""

from __future__ import annotations

import pytest

from registry import credentials
from registry.core import RegistryCore
from registry.flood import NAME_PASSWORD_BURST, NAME_PASSWORD_EVERY
from tests.registry.core_helpers import T0, core, sends
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
    # the guessers, from 300 keys at 300 addresses over 30 s, had a handful of checks
    assert len(hashes) <= NAME_PASSWORD_BURST + 30 / NAME_PASSWORD_EVERY + 1
    assert all(h.startswith("wrong") for h in hashes)  # the owner's key needed none


def test_guessing_one_name_costs_another_names_owner_nothing(hashes: list[str]) -> None:
    reg = core()
    offline_with_password(reg, "pat", PAT, key(1))
    offline_with_password(reg, "sam", SAM, key(2))
    refused = []
    for n in range(200):
        now = T0 + n / 20  # forty guesses a second, each from a new address and key
        got = guess(reg, n, now)
        assert isinstance(got, Refused)
        refused.append(got.reason)
        if n % 20 == 10:  # sam, on a new machine: only the password proves the name
            msg = Register(f"sam-{n}", "sam", 7100 + n, "", "sesame", WIRE_VERSION)
            new_machine = (f"10.0.9.{n // 10}", 7100 + n)
            got = answer(reg, msg, new_machine, key(500 + n), now)
            assert isinstance(got, Welcome), got
            reg.receive(
                Deregister(f"sam-d{n}", "sam", got.token, False, ""),
                new_machine,
                now,
                key=key(500 + n),
            )
    assert refused[-1].startswith("Too many password attempts; try again in ")
