"""The receiver's side of a transfer's bytes: asked from the last byte verified, written and
hashed in a thread, checked, then named in the downloads folder (never over a file there)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import socket
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from disk.files import os_reason
from net.listener import Addr, new_socket
from net.served_stream import CONNECT_WAIT, why_not
from peer.core.files.names import NAME_MAX, fitted_name
from peer.core.files.transfer import Outcome, Transfer, size_text
from secure.stream import SecureStream
from wire.codec import DecodeError
from wire.messages import FileNote, FileWant, Message

T = TypeVar("T")
#: Bytes between two checkpoints (fsync, record kept): what a crash may cost again.
CHECKPOINT = 16 * 1024 * 1024
#: Seconds to wait for the sender between reads.
READ_WAIT = 30.0
#: Bytes read from the connection at a time: many records, written with one call.
READ_SIZE = 1024 * 1024
#: Bytes handed to the writing thread and not yet written, at most.
HELD = 8 * 1024 * 1024
#: Bytes gathered before they go to the thread (each hand-over costs a few wake-ups).
BATCH = 1024 * 1024


class PullEnded(Exception):
    """How a pull ended, when not by the file arriving whole: (outcome, why)."""


class Puller:
    """Moves the bytes of one accepted `transfer` from its sender into its partial file,
    written and hashed in a thread of its own: `progress` is awaited with the bytes taken
    at each READ_SIZE (not kept), and with those on disk at each checkpoint (kept); `noted`
    gets the sender's FileNote, should it refuse."""

    def __init__(
        self,
        transfer: Transfer,
        static: X25519PrivateKey,
        progress: Callable[[int, bool], Awaitable[None]],
        noted: Callable[[FileNote], None],
    ) -> None:
        self.transfer = transfer
        self._static = static
        self._progress = progress
        self._noted = noted
        self._hash = hashlib.sha256()
        self._fd = -1
        #: Bytes of the file taken (written, or about to be); those on disk, said to
        #: `progress`; those `_gathered` and not yet handed to the thread begin at `_from`.
        self._at = self._verified = self._from = 0
        self._gathered: list[memoryview] = []
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="partial-file")
        self._queued: deque[tuple[int, asyncio.Future[None]]] = deque()  # (bytes, written)
        self._held = 0  # bytes queued
        self._failed: OSError | None = None  # a write of the thread: nothing is written after
        self._sync: asyncio.Future[None] | None = None  # a checkpoint under way

    async def run(self, addr: Addr, key: bytes, new_id: str) -> tuple[Outcome, str]:
        """Pull the rest of the file; (outcome, the saved path or why not)."""
        try:
            await self._open_partial()
            return await self._connect_and_read(addr, key, new_id)
        except PullEnded as ended:
            outcome, why = ended.args
            if outcome is Outcome.DROPPED and self._at > self._verified:
                # every byte written came in its place: synced, it counts as verified
                with contextlib.suppress(OSError):
                    await self._last_checkpoint()
            return outcome, why
        finally:
            if self._sync is not None:
                self._sync.cancel()
            for _, done in self._queued:
                done.cancel()
            if self._fd >= 0:  # after the thread's last write
                self._thread.submit(os.close, self._fd)
                self._fd = -1
            self._thread.shutdown(wait=False)

    async def _open_partial(self) -> None:
        transfer = self.transfer
        path = Path(transfer.path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            have = os.fstat(self._fd).st_size
            self._at = self._verified = self._from = min(transfer.verified, have)  # cut short
            os.ftruncate(self._fd, self._at)
            await asyncio.to_thread(self._hash_kept)
            free = shutil.disk_usage(path.parent).free
        except OSError as exc:
            raise PullEnded(Outcome.DISK, f"{path.parent}: {os_reason(exc)}") from None
        needed = transfer.size - self._at
        if free < needed:
            room = f"{size_text(needed)} needed, {size_text(free)} free"
            why = f"not enough room in {path.parent} ({room})"
            raise PullEnded(Outcome.DISK, why)
        if self._at != transfer.verified:
            await self._progress(self._at, True)

    def _hash_kept(self) -> None:
        with open(self._fd, "rb", buffering=0, closefd=False) as kept:
            self._hash = hashlib.file_digest(kept, "sha256")

    async def _connect_and_read(self, addr: Addr, key: bytes, new_id: str) -> tuple[Outcome, str]:
        transfer = self.transfer
        try:
            sock = await asyncio.wait_for(_connect(addr), CONNECT_WAIT)
        except (OSError, TimeoutError) as exc:
            why = f"no connection to {transfer.peer} ({why_not(exc)})"
            raise PullEnded(Outcome.DROPPED, why) from None
        try:
            stream = SecureStream(self._static, remote=key)
            stream.send(FileWant(new_id, transfer.offer, self._at))
            await asyncio.get_running_loop().sock_sendall(sock, stream.output())
            await self._read(stream, sock)
            return await self._finish()
        except (OSError, TimeoutError, ValueError, DecodeError) as exc:
            raise PullEnded(Outcome.DROPPED, f"the connection broke ({why_not(exc)})") from None
        finally:
            sock.close()

    async def _read(self, stream: SecureStream, sock: socket.socket) -> None:
        """Take data records until the file is whole, syncing every CHECKPOINT bytes."""
        size, shared = self.transfer.size, self._at
        loop = asyncio.get_running_loop()
        buffer = memoryview(bytearray(READ_SIZE))
        async with asyncio.timeout(READ_WAIT) as deadline:
            while self._at < size:
                if self._at - shared >= READ_SIZE:  # a read that does not wait yields not
                    shared = self._at
                    await self._progress(shared, False)
                    await asyncio.sleep(0)  # the rest of the peer runs: chat goes on
                read = await loop.sock_recv_into(sock, buffer)
                deadline.reschedule(loop.time() + READ_WAIT)
                if not read:
                    raise PullEnded(Outcome.DROPPED, f"{self.transfer.peer} closed the connection")
                items = stream.feed_with_data(buffer[:read])
                await _disk(self._write(self._pieces(items)))
                out = stream.output()
                if out:
                    await loop.sock_sendall(sock, out)
                if self._sync is not None and self._sync.done():
                    await _disk(self._sync)
                    self._sync = None
                if self._sync is None and self._at - self._verified >= CHECKPOINT:
                    self._sync = asyncio.ensure_future(self._checkpoint())
        await _disk(self._last_checkpoint())

    def _pieces(self, items: list[Message | memoryview]) -> list[memoryview]:
        """The file's bytes among `items`, checked to fit; a message ends the pull."""
        pieces = [item for item in items if isinstance(item, memoryview)]
        if len(pieces) < len(items):
            note = next(item for item in items if not isinstance(item, memoryview))
            if not isinstance(note, FileNote):
                raise PullEnded(Outcome.BROKEN, "the sender sent something other than the file")
            self._noted(note)
            raise PullEnded(Outcome.DROPPED, note.reason or "refused")
        if self._at + sum(map(len, pieces)) > self.transfer.size:
            raise PullEnded(Outcome.BROKEN, "the sender sent more bytes than it offered")
        return pieces

    async def _write(self, pieces: list[memoryview]) -> None:
        """Take `pieces`; wait while more than HELD bytes are not yet written. A failed write
        raises its OSError from the next call that waits for it."""
        self._gathered += pieces
        self._at += sum(map(len, pieces))
        if self._at - self._from >= BATCH:
            self._hand_over()
        while self._held > HELD:
            count, done = self._queued.popleft()
            self._held -= count
            await done

    def _hand_over(self) -> None:
        if not self._gathered:
            return
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(self._thread, self._written, self._gathered, self._from)
        done.add_done_callback(_seen)  # its error is raised where awaited, or not at all
        self._queued.append((self._at - self._from, done))
        self._held += self._at - self._from
        self._gathered, self._from = [], self._at

    def _written(self, pieces: list[memoryview], at: int) -> None:
        """(in the thread)"""
        if self._failed is not None:
            raise self._failed
        try:
            total = sum(map(len, pieces))
            written = os.pwritev(self._fd, pieces, at) if pieces else 0
            rest = b"".join(pieces)[written:] if written < total else b""  # (a short write)
            while rest:
                done = os.pwrite(self._fd, rest, at + written)
                written, rest = written + done, rest[done:]
        except OSError as exc:
            self._failed = exc
            raise
        for piece in pieces:
            self._hash.update(piece)

    async def _last_checkpoint(self) -> None:
        sync, self._sync = self._sync, None
        if sync is not None:
            await sync
        await self._checkpoint()

    async def _checkpoint(self) -> None:
        """Put every byte handed so far on disk; said to `progress`."""
        at = self._at
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
        if at > self._verified:
            await self._progress(at, True)
            self._verified = at

    async def _finish(self) -> tuple[Outcome, str]:
        transfer = self.transfer
        if self._hash.hexdigest() != transfer.sha256:
            with contextlib.suppress(OSError):
                os.unlink(transfer.path)
            why = "what arrived is not the file offered (its SHA-256 differs)"
            raise PullEnded(Outcome.BROKEN, why)
        try:
            partial = Path(transfer.path)
            return Outcome.DONE, str(_name(partial, transfer.name, name_limit(partial.parent)))
        except OSError as exc:
            raise PullEnded(Outcome.DISK, f"could not name it ({os_reason(exc)})") from None


def _name(partial: Path, name: str, name_max: int) -> Path:
    """Give the partial file `name` (or `name (2)`...), never over a file: a hard link."""
    while True:
        final = free_path(partial.parent, name, name_max)
        try:
            os.link(partial, final)
        except FileExistsError:
            continue  # taken between the look and the link
        except OSError:  # a file system without hard links: rename where nothing is
            if os.path.lexists(final):
                continue
            os.rename(partial, final)
            return final
        os.unlink(partial)
        return final


async def _connect(addr: Addr) -> socket.socket:
    """A raw socket: the data is read into one buffer, with less work than through a stream."""
    sock = new_socket(socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, addr)
    except BaseException:
        sock.close()
        raise
    return sock


async def _disk(work: Awaitable[T]) -> T:
    try:
        return await work
    except OSError as exc:
        raise PullEnded(Outcome.DISK, f"could not write it ({os_reason(exc)})") from None


def _seen(done: asyncio.Future[None]) -> None:
    """Mark a write's error seen: one after the pull ended is no one's concern."""
    if not done.cancelled():
        done.exception()


def free_path(folder: Path, name: str, name_max: int = NAME_MAX) -> Path:
    """A path in `folder` for `name` holding no file yet: `name`, else `name (2)`, ..."""
    number = 1
    while True:
        path = folder / fitted_name(name, name_max, f" ({number})" if number > 1 else "")
        if not os.path.lexists(path):
            return path
        number += 1


def name_limit(folder: Path) -> int:
    """The bytes a file name may take in `folder` (or the nearest existing folder above)."""
    for place in (folder, *folder.parents):
        try:
            limit = os.pathconf(place, "PC_NAME_MAX")
        except (OSError, ValueError):
            continue
        return limit if limit > 0 else NAME_MAX  # (-1: none said)
    return NAME_MAX
