"""The costly steps of a password, run off the registry's thread (registry/adapter/
password_checks.py): an SRP-6a challenge begun, a proof checked, an older hash migrated."""

from __future__ import annotations

from registry.core.actions import CheckPassword
from secure import password
from secure.password import Challenge

#: How an older registry's scrypt hash begins: "scrypt-17$salt$hash"; "salt$hash" is 2**14.
_SCRYPT = "scrypt-"


def migrated(stored: str) -> str:
    """The verifier that replaces an older registry's scrypt hash `stored` (the hash is the
    SRP password); "" when `stored` is no such hash."""
    parts = stored.split("$")
    cost = str(password.OLD_LOG2_N)
    if len(parts) == 3 and parts[0].startswith(_SCRYPT):
        cost, parts = parts[0][len(_SCRYPT) :], parts[1:]
    if len(parts) != 2 or not password.cost_ok(cost):
        return ""  # (a cost no client would pay: kept as it is, and no password proves it)
    log2_n = int(cost)
    try:
        salt, digest = bytes.fromhex(parts[0]), bytes.fromhex(parts[1])
    except ValueError:
        return ""
    if not salt or not digest:
        return ""
    return password.verifier_of(digest.hex(), log2_n, salt)


def carry_out(check: CheckPassword, secret: bytes, registry: bytes) -> Challenge | bool:
    """A Challenge begun (its `stored` the verifier when migrated, else ""), or whether a
    proof holds. `secret` makes up the verifiers of names without one; `registry`: our
    public key."""
    if check.session is not None:
        return password.verify(check.session, check.proof)
    kept = migrated(check.stored)
    stored = password.Stored.parse(kept or check.stored)
    if stored is None:
        stored = password.made_up(secret, check.name)
    began = password.challenge(stored, password.identity(check.name, check.client, registry))
    began.stored = kept
    return began
