"""The receiver's side of a transfer's bytes: a TCP connection to the sender, in the
secure channel to the sender's key, that asks for the file from the last byte verified
and writes what comes to the partial file, then checks the whole file's SHA-256 and gives
it its name in the downloads folder (never over a file there).

A byte is verified once its record opened in the channel (authenticated as the sender's),
it came at the offset expected, and it is on disk (fsync) with the record saying so: what
a restart resumes from. The whole file's SHA-256 is checked before it is named.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from net.files import os_reason
from net.secure_stream import SecureStream
from peer.files.actions import Outcome
from peer.files.names import free_path
from peer.files.transfer import Transfer, size_text
from wire.errors import DecodeError
from wire.file_messages import FileChunk, FileNote, FileWant

Addr = tuple[str, int]
#: Bytes between two checkpoints (fsync, record kept): what a crash may cost again.
CHECKPOINT = 16 * 1024 * 1024
#: Seconds to wait for the sender's connection, and then between reads.
CONNECT_WAIT = 5.0
READ_WAIT = 30.0
#: Bytes read from the connection at a time.
READ_SIZE = 128 * 1024


class PullEnded(Exception):
    """How a pull ended, when not by the file arriving whole."""

    def __init__(self, outcome: Outcome, why: str) -> None:
        super().__init__(why)
        self.outcome = outcome
        self.why = why


class Puller:
    """Moves the bytes of one accepted `transfer` from the sender at `addr` with `key`.
    `progress` is told of each checkpoint's verified bytes; `noted` gets a FileNote the
    sender answers with instead of bytes (it refused). `run` returns how it ended."""

    def __init__(
        self,
        transfer: Transfer,
        static: X25519PrivateKey,
        progress: Callable[[int], None],
        noted: Callable[[FileNote], None],
    ) -> None:
        self.transfer = transfer
        self._static = static
        self._progress = progress
        self._noted = noted
        self._hash = hashlib.sha256()
        self._at = 0
        self._fd = -1

    async def run(self, addr: Addr, key: bytes, new_id: str) -> tuple[Outcome, str]:
        """Pull the rest of the file; (outcome, the saved path or why not)."""
        try:
            await self._open_partial()
            return await self._connect_and_read(addr, key, new_id)
        except PullEnded as ended:
            return ended.outcome, ended.why
        finally:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    async def _open_partial(self) -> None:
        """Open the partial file, cut to the verified bytes, and hash them again."""
        transfer = self.transfer
        path = Path(transfer.path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            have = os.fstat(self._fd).st_size
            self._at = min(transfer.verified, have)  # a partial file cut short: from there
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
            self._progress(self._at)

    def _hash_kept(self) -> None:
        at = 0
        while at < self._at:
            data = os.pread(self._fd, min(CHECKPOINT, self._at - at), at)
            if not data:
                break
            self._hash.update(data)
            at += len(data)

    async def _connect_and_read(self, addr: Addr, key: bytes, new_id: str) -> tuple[Outcome, str]:
        transfer = self.transfer
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(*addr), CONNECT_WAIT)
        except (OSError, TimeoutError) as exc:
            raise PullEnded(
                Outcome.DROPPED, f"no connection to {transfer.peer} ({_why(exc)})"
            ) from None
        try:
            stream = SecureStream(self._static, remote=key)
            stream.send(FileWant(new_id, transfer.offer, self._at))
            writer.write(stream.output())
            await self._read(stream, reader, writer)
            return await self._finish()
        except (OSError, TimeoutError, ValueError) as exc:
            raise PullEnded(Outcome.DROPPED, f"the connection broke ({_why(exc)})") from None
        except DecodeError as exc:
            raise PullEnded(Outcome.DROPPED, f"the connection broke ({exc})") from None
        finally:
            writer.close()

    async def _read(
        self, stream: SecureStream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Take chunks until the file is whole (the FileWant leaves once the handshake is
        answered)."""
        size = self.transfer.size
        kept = self._at
        while self._at < size:
            data = await asyncio.wait_for(reader.read(READ_SIZE), READ_WAIT)
            if not data:
                raise PullEnded(Outcome.DROPPED, f"{self.transfer.peer} closed the connection")
            for message in stream.feed(data):
                self._take(message)
            out = stream.output()
            if out:
                writer.write(out)
            if self._at - kept >= CHECKPOINT or self._at >= size:
                await self._checkpoint()
                kept = self._at

    def _take(self, message: object) -> None:
        if isinstance(message, FileNote):
            self._noted(message)
            raise PullEnded(Outcome.DROPPED, message.reason or "refused")
        if not isinstance(message, FileChunk):
            raise PullEnded(Outcome.BROKEN, "the sender sent something other than the file")
        if message.offset != self._at:
            raise PullEnded(Outcome.BROKEN, "the sender sent bytes out of order")
        if self._at + len(message.data) > self.transfer.size:
            raise PullEnded(Outcome.BROKEN, "the sender sent more bytes than it offered")
        try:
            os.pwrite(self._fd, message.data, self._at)
        except OSError as exc:
            raise PullEnded(Outcome.DISK, f"could not write it ({os_reason(exc)})") from None
        self._hash.update(message.data)
        self._at += len(message.data)

    async def _checkpoint(self) -> None:
        """The bytes so far are on disk: they count as verified."""
        try:
            await asyncio.to_thread(os.fsync, self._fd)
        except OSError as exc:
            raise PullEnded(Outcome.DISK, f"could not write it ({os_reason(exc)})") from None
        self._progress(self._at)

    async def _finish(self) -> tuple[Outcome, str]:
        """The file is whole: checked, then named."""
        transfer = self.transfer
        if self._hash.hexdigest() != transfer.sha256:
            with contextlib.suppress(OSError):
                os.unlink(transfer.path)
            why = "what arrived is not the file offered (its SHA-256 differs)"
            raise PullEnded(Outcome.BROKEN, why)
        try:
            return Outcome.DONE, str(_name(Path(transfer.path), transfer.name))
        except OSError as exc:
            raise PullEnded(Outcome.DISK, f"could not name it ({os_reason(exc)})") from None


def _name(partial: Path, name: str) -> Path:
    """Give the partial file `name` in its folder, or `name (2)`... if taken: a hard link
    made only where nothing is (never over a file), then the partial name removed."""
    while True:
        final = free_path(partial.parent, name)
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


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer"
    return os_reason(exc) if isinstance(exc, OSError) else str(exc)
