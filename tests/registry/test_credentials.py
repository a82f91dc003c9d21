"""Password hashes: scrypt at today's cost, hashes of the cost before still checked, and
made again at today's cost at the next login that shows the password."""

from __future__ import annotations

import hashlib

import pytest

from registry.core import credentials
from registry.core.credentials import LOG2_N, check_password, hash_password, outdated
from tests.registry.core_helpers import T0, core, sends
from wire.messages import Deregister, Register, Welcome
from wire.version import WIRE_VERSION

SALT = b"0123456789abcdef"


def _old_hash(password: str) -> str:
    """A hash as registries kept them before the cost was raised (N=2**14)."""
    digest = hashlib.scrypt(password.encode(), salt=SALT, n=2**14, r=8, p=1)
    return f"{SALT.hex()}${digest.hex()}"


def test_a_hash_is_made_at_today_s_cost_and_says_so() -> None:
    stored = hash_password("sesame", SALT)
    assert LOG2_N >= 17 and stored.startswith(f"scrypt-{LOG2_N}$")
    # (a wrong password is refused at the cost before, below, and at today's lowered, in
    # the registry's tests: each check here is 0.4 s of CPU)
    assert check_password("sesame", stored) and not outdated(stored)


def test_a_hash_of_the_cost_before_is_checked_and_known_as_outdated() -> None:
    old = _old_hash("sesame")
    assert check_password("sesame", old) and not check_password("sesame!", old)
    assert outdated(old)
    for junk in ("", "$", "zz$00", "scrypt-17$zz$00", "scrypt-99$00$00", "a$b$c$d"):
        assert not check_password("sesame", junk)


def test_an_old_hash_is_made_again_at_the_next_login_with_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # today's cost lowered, as the registry's other unit tests do (tests/registry/conftest.py):
    # this one is about the hash made again, the first above about the cost
    monkeypatch.setattr(credentials, "LOG2_N", 10)
    reg = core()
    addr = ("127.0.0.1", 7000)
    out = reg.receive(Register("p-1", "pat", 7000, "", "sesame", WIRE_VERSION), addr, T0)
    welcome = next(m for _, m in sends(out) if isinstance(m, Welcome))
    reg.receive(Deregister("d", "pat", welcome.token, False, ""), addr, T0)
    record = reg.table.get("pat")
    assert record is not None
    record.password = _old_hash("sesame")  # kept by a registry of before
    other = ("127.0.0.2", 7001)  # a new machine: the password proves the name
    out = reg.receive(Register("q-1", "pat", 7001, "", "sesame", WIRE_VERSION), other, T0 + 1)
    assert any(isinstance(m, Welcome) for _, m in sends(out))
    assert not outdated(record.password) and check_password("sesame", record.password)
