"""The registry adapter's group commit, and what it does while storing fails.

A mailbox append or a table change is written at once but made durable (fsync) only at
the end of the current pass of the event loop, once for everything stored in that pass
(every datagram the endpoint read in one wake-up). From the first such write until that
fsync, every Send waits, in order, so an ack saying "saved" still leaves only after the
fsync that covers it (docs/PROTOCOL.md, "What survives a crash").

A commit that fails leaves its data waiting in memory, and the core has moved on: a
retried request would be answered from that state ("saved") with nothing new to store.
So while anything waits to be made durable, every Send waits for a commit that tries
again: the registry falls silent (its peers say "Server not responding" and keep their
messages) rather than claim what is not on disk.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from registry.actions import Send, SendMany
from registry.core import RegistryCore
from registry.storage import Storage, StorageError

#: While data cannot be stored, the error is logged again at most this often (seconds).
FAILING_LOG_EVERY = 30.0

#: Seconds a commit may take before the next one waits as long again (see `open`).
SLOW_COMMIT = 0.005


class GroupCommit:
    """The commits of one registry's `storage` (and of `core`'s table): `release` sends
    the sends that waited for a commit, in order (none when it failed), and is called
    after every commit; `log` writes one log line."""

    def __init__(
        self,
        storage: Storage,
        core: RegistryCore,
        release: Callable[[list[Send | SendMany]], None],
        log: Callable[[str], None],
    ) -> None:
        self._storage = storage
        self._core = core
        self._release = release
        self._log = log
        # sends waiting for the commit in progress (None: no commit open)
        self._held: list[Send | SendMany] | None = None
        self._commit_after = 0.0  # the next commit is no sooner (see `open`)
        self._table_dirty = False
        # while data cannot be stored: (the error, when it was last logged, answers withheld
        # since), see `_failed`
        self._failing: tuple[str, float, int] | None = None

    @property
    def is_open(self) -> bool:
        """Whether a commit is in progress (what is written waits for it)."""
        return self._held is not None

    def holds(self, send: Send | SendMany) -> bool:
        """Whether `send` waits for a commit (it then leaves when that commit is made):
        the one in progress, or one opened now for what still waits to be made durable."""
        if self._held is None and (self._table_dirty or self._storage.unsynced):
            self.open()
        if self._held is None:
            return False
        self._held.append(send)
        return True

    def table_changed(self) -> None:
        """The table is to be written, in the commit opened now (or in progress)."""
        self.open()
        self._table_dirty = True

    def open(self) -> None:
        """Begin a commit: what is written from now on is made durable together, at the end
        of this pass; or, after a commit that took SLOW_COMMIT or more, once as long again
        has passed since it ended (a table of thousands takes tens of ms to write: in a join
        storm, every pass would otherwise write it again; so at most half the registry's
        time goes to it)."""
        if self._held is None:
            self._held = []
            loop = asyncio.get_running_loop()
            wait = self._commit_after - time.monotonic()
            if wait > 0:
                loop.call_later(wait, self.commit)
            else:
                loop.call_soon(self.commit)

    def commit(self) -> None:
        """Make this pass's writes durable, then let the sends that waited for them go."""
        held, self._held = self._held or [], None
        started = time.monotonic()
        try:
            if self._table_dirty:
                self._storage.save_table(self._core.table)
                self._table_dirty = False
            self._storage.sync()
        except (OSError, StorageError) as exc:
            self._failed(str(exc), len(held))
            held = []
        else:
            if self._failing is not None:
                self._log("storing data works again: what waited is on disk; answering again")
                self._failing = None
        ended = time.monotonic()
        took = ended - started
        self._commit_after = ended + took if took >= SLOW_COMMIT else 0.0
        self._release(held)

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
