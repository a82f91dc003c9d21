"""A pull's partial file, written, hashed and synced beside the event loop: the connection
is read and its records opened while the disk takes the bytes that came before."""

from __future__ import annotations

import asyncio
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

#: Bytes handed to the writing thread and not yet written, at most: past it the reader
#: waits for the disk (a slow disk slows the sender; it never fills our memory).
HELD = 8 * 1024 * 1024
#: Bytes gathered before they go to the thread: each hand-over costs a few wake-ups, and
#: reads from a socket that keeps up come in small pieces.
BATCH = 1024 * 1024


class Digest(Protocol):
    """A running hash (hashlib's)."""

    def update(self, data: memoryview, /) -> None: ...


class PartialFile:
    """The partial file open as `fd`, whose first `at` bytes are there and hashed into
    `digest`. `write` hands bytes (BATCH at a time) to a thread of its own, which writes
    them one after the other and hashes them; `synced` puts every byte taken on disk. A write or a
    sync that failed raises its OSError from the next call that waits for it. `close`
    lets go of the file once the thread is done with it (`fd` stays the caller's)."""

    def __init__(self, fd: int, at: int, digest: Digest) -> None:
        self._fd = os.dup(fd)  # the thread's own: it closes it after its last write
        #: Bytes of the file handed over so far (written or about to be).
        self.at = at
        self.digest = digest
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="partial-file")
        self._queued: deque[tuple[int, asyncio.Future[None]]] = deque()
        self._held = 0
        self._gathered: list[memoryview] = []  # not yet handed to the thread, from `_from`
        self._from = at
        self._failed: OSError | None = None  # by the thread: nothing is written after it

    async def write(self, pieces: list[memoryview]) -> None:
        """Take `pieces`, to be written at `at` and hashed after everything taken before;
        wait while more than HELD bytes are not yet written."""
        self._gathered += pieces
        self.at += sum(map(len, pieces))
        if self.at - self._from >= BATCH:
            self._hand_over()
        while self._held > HELD:
            await self._oldest()

    def _hand_over(self) -> None:
        """Give the thread what was gathered."""
        if not self._gathered:
            return
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(self._thread, self._write, self._gathered, self._from)
        done.add_done_callback(_seen)  # its error is raised where awaited, or not at all
        self._queued.append((self.at - self._from, done))
        self._held += self.at - self._from
        self._gathered, self._from = [], self.at

    async def synced(self) -> int:
        """Put every byte handed so far on disk, once written: the fsync runs in another
        thread, so that what comes meanwhile is written meanwhile. The bytes it covered."""
        at = self.at
        self._hand_over()
        if self._queued:
            await self._queued[-1][1]  # one thread writes in order: all before it are done
        if self._failed is not None:
            raise self._failed
        own = os.dup(self._fd)  # a `close` meanwhile does not take it from the sync
        try:
            await asyncio.to_thread(os.fsync, own)
        finally:
            os.close(own)
        return at

    def close(self) -> None:
        """Drop what is not written yet, and close the thread's file after its last write."""
        for _, done in self._queued:
            done.cancel()
        self._queued.clear()
        self._gathered = []
        self._thread.submit(os.close, self._fd)
        self._thread.shutdown(wait=False)

    async def _oldest(self) -> None:
        count, done = self._queued.popleft()
        self._held -= count
        await done

    def _write(self, pieces: list[memoryview], at: int) -> None:
        """In the thread: write `pieces` at `at`, then hash them."""
        if self._failed is not None:
            raise self._failed
        try:
            write_all(self._fd, pieces, at)
        except OSError as exc:
            self._failed = exc
            raise
        for piece in pieces:
            self.digest.update(piece)


def _seen(done: asyncio.Future[None]) -> None:
    """Mark the error of a write as seen: one after the pull ended is no one's concern."""
    if not done.cancelled():
        done.exception()


def write_all(fd: int, pieces: list[memoryview], offset: int) -> None:
    """Write `pieces`, one after the other, at `offset` of the file `fd`: one call for all,
    and more only when the system wrote part. Raises OSError."""
    total = sum(map(len, pieces))
    written = os.pwritev(fd, pieces, offset) if pieces else 0
    rest = b"".join(pieces)[written:] if written < total else b""
    while rest:
        done = os.pwrite(fd, rest, offset + written)
        written += done
        rest = rest[done:]
