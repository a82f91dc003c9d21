"""Password checks (a scrypt of some 0.3 s and 128 MiB each) on a pool of threads."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable

from registry.core.actions import CheckPassword
from registry.core.credentials import proven

#: Checks run at once: two use two cores (the loop takes its turn between them), and 256 MiB.
WORKERS = 2

#: What is told a check's outcome: its ticket, and the hash it gave (None: it failed).
Done = Callable[[str, str | None], None]


class PasswordChecks:
    """Carries out CheckPassword actions on WORKERS threads; `done` is told each outcome."""

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
        """Drop the checks not begun; those running finish on their own."""
        for future in self._running:
            future.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
