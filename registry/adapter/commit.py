"""The registry adapter's group commit, and what it does while storing fails.

What the core asks to store (registry/adapter/store.py) is made durable together, by one commit at
the end of the current pass of the event loop, for everything stored in that pass (every
datagram the endpoint read in one wake-up). From the first such write until that commit is
made, every Send waits, in order, so an ack saying "saved" still leaves only after the
commit that covers it (docs/PROTOCOL.md, "What survives a crash"). A commit may take a
while (an fsync in the file store's thread, a NATS round trip) while the registry goes on:
what is stored meanwhile goes in the next one, and every Send waits for each commit begun
before it.

A commit that fails leaves its data waiting, and the core has moved on: a retried request
would be answered from that state ("saved") with nothing new to store. So while anything
waits to be made durable, every Send waits for a commit that tries again: the registry
falls silent (its peers say "Server not responding" and keep their messages) rather than
claim what is not stored.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from registry.adapter.storage import StorageError
from registry.adapter.store import Store
from registry.core.actions import Send, SendMany
from registry.core.table import Table

#: While data cannot be stored, the error is logged again at most this often (seconds).
FAILING_LOG_EVERY = 30.0

#: Seconds a commit may keep the event loop busy before the next one waits as long again
#: (see `open`).
SLOW_COMMIT = 0.005


class GroupCommit:
    """The commits of one registry's `store` (with the table `table()` gives): `release`
    sends the sends that waited for a commit, in order (none when it failed), and is called
    after every commit; `log` writes one log line."""

    def __init__(
        self,
        store: Store,
        table: Callable[[], Table],
        release: Callable[[list[Send | SendMany]], None],
        log: Callable[[str], None],
    ) -> None:
        self._store = store
        self._table = table
        self._release = release
        self._log = log
        # sends waiting for the next commit (None: none opened)
        self._held: list[Send | SendMany] | None = None
        self._running = False  # a commit is being made, or its task waits to make it
        self._tasks: set[asyncio.Task[None]] = set()
        self._commit_after = 0.0  # the next commit is no sooner (see `open`)
        # while data cannot be stored: (the error, when it was last logged, answers withheld
        # since), see `_failed`
        self._failing: tuple[str, float, int] | None = None

    @property
    def is_open(self) -> bool:
        """Whether a commit is opened or being made (what is written waits for it)."""
        return self._held is not None or self._running

    def holds(self, send: Send | SendMany) -> bool:
        """Whether `send` waits for a commit (it then leaves when that commit is made): one
        open or being made, or one opened now for what still waits to be made durable."""
        if self._held is None and (self._running or self._store.dirty):
            self.open()
        if self._held is None:
            return False
        self._held.append(send)
        return True

    def open(self) -> None:
        """Begin a commit: what is written from now on is made durable together, at the end
        of this pass (or once the commit being made is over); after a commit that kept the
        event loop busy SLOW_COMMIT or more, once as long again has passed since it ended (a
        table of thousands takes tens of ms to write: in a join storm, every pass would
        otherwise write it again; so at most half the registry's time goes to it)."""
        if self._held is None:
            self._held = []
            if not self._running:
                self._schedule()

    def _schedule(self) -> None:
        """Make the commit opened, in a task that starts after this pass."""
        self._running = True
        task = asyncio.get_running_loop().create_task(self._after(self._commit_after))
        self._tasks.add(task)  # (a task only the loop holds may be collected mid-way)
        task.add_done_callback(self._tasks.discard)

    async def _after(self, at: float) -> None:
        wait = at - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        await self.commit()

    async def made(self) -> None:
        """Wait until the commits opened or being made are over (a failed one is not tried
        again)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def settle(self) -> None:
        """Wait for the commits opened or being made (a registry closing), and try once
        more for data that still waits (a commit failed)."""
        await self.made()
        if self._held is not None or self._store.dirty:
            await self.commit()

    async def commit(self) -> None:
        """Make what was written durable, then let the sends that waited for it go."""
        self._running = True
        held, self._held = self._held or [], None
        started = time.monotonic()
        busy = 0.0
        try:
            busy = await self._store.commit(self._table())
        except (OSError, StorageError) as exc:
            self._failed(str(exc), len(held))
            held = []
            busy = time.monotonic() - started  # tried again no more often than it takes to fail
        else:
            if self._failing is not None:
                self._log("storing data works again: what waited is stored; answering again")
                self._failing = None
        finally:
            self._running = False
        ended = time.monotonic()
        self._commit_after = ended + busy if busy >= SLOW_COMMIT else 0.0
        self._release(held)
        if self._held is not None:
            self._schedule()

    def _failed(self, error: str, withheld: int) -> None:
        """Say that data cannot be made durable: at once when it starts or the error
        changes, then once every FAILING_LOG_EVERY seconds (senders retry twice a second)."""
        now = time.monotonic()
        if self._failing is not None and self._failing[0] == error:
            self._failing = (error, self._failing[1], self._failing[2] + withheld)
            if now - self._failing[1] < FAILING_LOG_EVERY:
                return
        else:
            self._failing = (error, now, withheld)
        self._log(
            f"ERROR storing data: {error}; {self._failing[2]} answers withheld. Nothing is "
            "answered until it can be stored; senders keep their messages and retry."
        )
        self._failing = (error, now, 0)
