"""A name's password by SRP-6a through the registry core (secure/password.py): a verifier
set for a new name, the right password proven, a wrong one and a relayed proof refused alike,
a name without a password answered as one with, and an older scrypt hash migrated."""

from __future__ import annotations

import hashlib

from registry.adapter.password_checks import migrated
from registry.core.dispatch import RegistryCore
from registry.core.registration import CHALLENGE_LIFE
from secure import password
from tests.registry.core_helpers import REGISTRY_KEY, T0, X, Y, core, sends
from wire.keys import key_text
from wire.messages import PasswordAsk, PasswordChallenge, Refused, Register, Welcome
from wire.version import WIRE_VERSION

OWNER, OTHER = b"\x01" * 32, b"\x02" * 32


def _ask(reg: RegistryCore, name: str, key: bytes, addr: tuple[str, int] = Y) -> object:
    """What the registry answers a PasswordAsk for `name` from `key`."""
    out = sends(reg.receive(PasswordAsk(f"ask-{name}", name), addr, T0, key=key))
    assert len(out) == 1
    return out[0][1]


def _login(
    reg: RegistryCore, name: str, secret: str, key: bytes, *, bound: bytes = REGISTRY_KEY
) -> object:
    """A peer of `key` proves `secret` for `name` (bound to `bound` as the registry's key):
    the answer to its Register."""
    challenge = _ask(reg, name, key)
    assert isinstance(challenge, PasswordChallenge) and not challenge.new
    ident = password.identity(name, key, bound)
    proof = password.prove(secret, ident, challenge.scrypt, challenge.salt, challenge.public)
    register = Register(f"reg-{name}-{secret}", name, Y[1], "", proof, WIRE_VERSION)
    out = sends(reg.receive(register, Y, T0, key=key))
    return out[-1][1]


def _set(reg: RegistryCore, name: str, secret: str) -> None:
    """`name` registered at X by OWNER, with `secret` set as a new name's password."""
    said = _ask(reg, name, OWNER, X)
    assert isinstance(said, PasswordChallenge) and said.new
    register = Register("r1", name, X[1], "", "", WIRE_VERSION, password.new_verifier(secret))
    assert isinstance(sends(reg.receive(register, X, T0, key=OWNER))[-1][1], Welcome)
    reg.table.get(name).online = False  # type: ignore[union-attr]  (its peer stopped)


def test_a_new_name_takes_a_verifier_and_keeps_no_password() -> None:
    reg = core()
    _set(reg, "eve", "sesame")
    kept = reg.table.get("eve").password  # type: ignore[union-attr]
    assert password.Stored.parse(kept) is not None and "sesame" not in kept
    assert hashlib.sha256(b"sesame").hexdigest() not in kept


def test_the_right_password_moves_the_name_to_a_new_key() -> None:
    reg = core()
    _set(reg, "eve", "sesame")
    assert isinstance(_login(reg, "eve", "sesame", OTHER), Welcome)
    assert reg.table.get("eve").key == key_text(OTHER)  # type: ignore[union-attr]


def test_a_wrong_password_and_a_name_without_one_read_the_same() -> None:
    reg = core()
    _set(reg, "eve", "sesame")
    wrong, none = _login(reg, "eve", "guess", OTHER), _login(core_with_bob(), "bob", "guess", OTHER)
    assert isinstance(wrong, Refused) and isinstance(none, Refused)
    assert wrong.reason.replace("eve", "X") == none.reason.replace("bob", "X")
    # a name without a password is asked of as one with: the same salt each time
    elsewhere = ("127.0.0.9", 9000)
    first = _ask(core_with_bob(), "bob", b"\x04" * 32, elsewhere)
    again = _ask(core_with_bob(), "bob", b"\x04" * 32, elsewhere)
    assert isinstance(first, PasswordChallenge) and isinstance(again, PasswordChallenge)
    assert first.scrypt == again.scrypt and first.salt == again.salt


def core_with_bob() -> RegistryCore:
    reg = core()
    reg.receive(
        Register("r2", "bob", 7000, "", "", WIRE_VERSION), ("127.0.0.1", 7000), T0, key=OWNER
    )
    reg.table.get("bob").online = False  # type: ignore[union-attr]
    return reg


def test_a_proof_bound_to_another_registrys_key_is_refused() -> None:
    reg = core()
    _set(reg, "eve", "sesame")
    relayed = _login(reg, "eve", "sesame", OTHER, bound=b"\x09" * 32)
    assert isinstance(relayed, Refused) and "Wrong password" in relayed.reason


def test_a_challenge_serves_one_proof() -> None:
    reg = core()
    _set(reg, "eve", "sesame")
    assert isinstance(_login(reg, "eve", "guess", OTHER), Refused)
    # the same proof again, without a new challenge: refused
    register = Register("again", "eve", Y[1], "", "00$00", WIRE_VERSION)
    assert isinstance(sends(reg.receive(register, Y, T0 + 60, key=OTHER))[-1][1], Refused)


def test_an_older_scrypt_hash_becomes_a_verifier_and_its_owner_still_gets_in() -> None:
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(b"sesame", salt=salt, n=2**10, r=8, p=1)
    reg = core()
    reg.receive(Register("r1", "eve", X[1], "", "", WIRE_VERSION), X, T0, key=OWNER)
    record = reg.table.get("eve")
    assert record is not None
    record.online = False
    record.password = f"scrypt-10${salt.hex()}${digest.hex()}"
    assert migrated(record.password).startswith("srp-10$")
    assert isinstance(_login(reg, "eve", "sesame", OTHER), Welcome)
    assert record.password.startswith("srp-10$") and digest.hex() not in record.password


def test_the_owners_key_needs_no_proof_and_a_new_name_is_said_new() -> None:
    reg = core()
    reg.receive(Register("r1", "eve", X[1], "", "", WIRE_VERSION), X, T0, key=OWNER)
    owned = _ask(reg, "eve", OWNER, X)
    assert isinstance(owned, PasswordChallenge) and not owned.new and not owned.public
    fresh = _ask(reg, "zed", OWNER)
    assert isinstance(fresh, PasswordChallenge) and fresh.new


def _old_hash(secret: str, log2_n: int, prefixed: bool) -> str:
    """A hash as older registries kept it: "scrypt-<cost>$salt$hash", or "salt$hash" at 2**14."""
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=2**log2_n, r=8, p=1)
    return (f"scrypt-{log2_n}$" if prefixed else "") + f"{salt.hex()}${digest.hex()}"


def test_an_older_hash_of_the_cost_before_is_migrated_at_its_own_cost() -> None:
    old = _old_hash("sesame", password.OLD_LOG2_N, prefixed=False)
    made = password.Stored.parse(migrated(old))
    assert made is not None and made.log2_n == password.OLD_LOG2_N
    reg = core_with_bob()
    reg.table.get("bob").password = old  # type: ignore[union-attr]
    assert isinstance(_login(reg, "bob", "sesame!", OTHER), Refused)
    assert reg.table.get("bob").password.startswith("srp-14$")  # type: ignore[union-attr]
    again = core_with_bob()
    again.table.get("bob").password = old  # type: ignore[union-attr]
    assert isinstance(_login(again, "bob", "sesame", OTHER), Welcome)


def test_what_is_no_older_hash_is_not_migrated_and_proves_nothing() -> None:
    junk = ("", "$", "zz$00", "scrypt-17$zz$00", "scrypt-99$00$00", "scrypt-$00$00", "a$b$c$d")
    for kept in (*junk, "00$", "scrypt-17$00$", "srp-17$00$00$00"):
        assert migrated(kept) == "", kept
    reg = core_with_bob()
    reg.table.get("bob").password = "scrypt-99$00$00"  # type: ignore[union-attr]
    assert isinstance(_login(reg, "bob", "x", OTHER), Refused)
    assert reg.table.get("bob").password == "scrypt-99$00$00"  # type: ignore[union-attr]


def test_a_challenge_waits_for_its_proof_a_minute_at_most() -> None:
    reg = core()
    _set(reg, "eve", "sesame")
    challenge = _ask(reg, "eve", OTHER)
    assert isinstance(challenge, PasswordChallenge)
    ident = password.identity("eve", OTHER, REGISTRY_KEY)
    proof = password.prove("sesame", ident, challenge.scrypt, challenge.salt, challenge.public)
    late = T0 + CHALLENGE_LIFE + 1
    register = Register("late", "eve", Y[1], "", proof, WIRE_VERSION)
    said = sends(reg.receive(register, Y, late, key=OTHER))[-1][1]
    assert isinstance(said, Refused) and said.reason == "Wrong password for eve."
