"""Password work on a pool of threads: an SRP-6a challenge begun, a proof checked, an older
hash migrated (modular powers, costly)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hmac
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

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


#: Checks run at once: two use two cores (the loop takes its turn between them).
WORKERS = 2

#: What is told a check's outcome: its ticket, and what it gave (None: it failed).
Done = Callable[[str, Challenge | bool | None], None]


class PasswordChecks:
    """Carries out CheckPassword actions on WORKERS threads; `done` is told each outcome."""

    def __init__(self, done: Done, static: X25519PrivateKey) -> None:
        """The made-up challenges come from a secret of `static` (the same each start, and on
        each registry of a service); every proof is bound to its public key."""
        self._done = done
        self._secret = hmac.digest(
            static.private_bytes_raw(), b"ChatApp made-up password", "sha256"
        )
        self._public = static.public_key().public_bytes_raw()
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=WORKERS, thread_name_prefix="password-check"
        )
        self._running: set[asyncio.Future[Challenge | bool]] = set()

    def start(self, check: CheckPassword) -> None:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, carry_out, check, self._secret, self._public)
        self._running.add(future)
        future.add_done_callback(lambda f: self._finished(check.ticket, f))

    def _finished(self, ticket: str, future: asyncio.Future[Challenge | bool]) -> None:
        self._running.discard(future)
        if future.cancelled():
            return
        self._done(ticket, None if future.exception() else future.result())

    def close(self) -> None:
        """Drop the checks not begun; those running finish on their own."""
        for future in self._running:
            future.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
