"""The registry's password checks, run off its event loop's thread.

A check is a scrypt of some 0.3 s and 128 MiB (registry/core/credentials.py). On the event
loop's thread, each would stop the registry for that long: a guesser with many addresses
would take its thread, and nobody else would be answered. Here they run on a small pool
of threads of their own (hashlib's scrypt releases the GIL), while the loop goes on; each
outcome comes back to the loop, which hands it to the core (`RegistryCore.password_checked`).
The core's budget (registry/core/flood.py, PasswordBudget) says how many are asked for; the
pool's size bounds the memory they take at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable

from registry.core.actions import CheckPassword
from registry.core.credentials import proven

#: Checks run at once: two use two cores (the loop takes its turn between them), and 256 MiB.
WORKERS = 2

#: What is told a check's outcome: its ticket, and the hash `credentials.proven` gave
#: (None: it failed, as scrypt may for want of memory).
Done = Callable[[str, str | None], None]


class PasswordChecks:
    """Carries out the core's CheckPassword actions on a pool of WORKERS threads and calls
    `done` on the event loop with each outcome, in the order they finish."""

    def __init__(self, done: Done) -> None:
        self._done = done
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=WORKERS, thread_name_prefix="password-check"
        )
        self._running: set[asyncio.Future[str]] = set()

    def start(self, check: CheckPassword) -> None:
        """Start `check`; its outcome comes to `done` later, on this loop."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, proven, check.password, check.stored, check.salt)
        self._running.add(future)
        future.add_done_callback(lambda f: self._finished(check.ticket, f))

    def _finished(self, ticket: str, future: asyncio.Future[str]) -> None:
        self._running.discard(future)
        if future.cancelled():
            return
        failed = future.exception()
        self._done(ticket, None if failed is not None else future.result())

    def close(self) -> None:
        """Drop the checks not begun; those running finish on their own (a registration
        that waits for one is answered by nobody, as the registry stops)."""
        for future in self._running:
            future.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
