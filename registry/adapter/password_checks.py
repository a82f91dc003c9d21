"""Password work (SRP-6a's modular powers, and a migration's) on a pool of threads."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hmac
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from registry.core.actions import CheckPassword
from registry.core.password_work import carry_out
from secure.password import Challenge

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
        failed = future.exception()
        self._done(ticket, None if failed is not None else future.result())

    def close(self) -> None:
        """Drop the checks not begun; those running finish on their own."""
        for future in self._running:
            future.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
