"""The asyncio adapter of the file transfers (peer/core/files/transfers.py), loaded when first
needed: most peers never send a file, and its modules are a tenth of a peer's start."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import msgspec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from msgspec.structs import replace

from disk.files import os_reason, read_bytes
from disk.records import keep_record
from net.served_stream import Handed
from net.wake import WakeTimer
from peer.core.actions import Addr, Print
from wire.base import IdMaker
from wire.keys import key_from_text, key_text
from wire.messages import Entry, FileNote, FileOffer, FileSeen, FileWant, Message, NoteState
from wire.words import counted

if TYPE_CHECKING:  # (loaded with the core, when first needed)
    from peer.core.files.transfer import (
        EmitFile,
        FileAction,
        KeepTransfer,
        Pull,
        ReadFile,
        Tell,
        Transfer,
    )
    from peer.core.files.transfers import FileTransfers

T = TypeVar("T")
#: Seconds to wait, once every byte is sent, for the receiver to close the connection.
CLOSE_WAIT = 30.0
#: Bytes of the file read, sealed and written at a time.
PIECE = 1024 * 1024
#: Bytes the connection may hold unsent: the socket has the next while a piece is read.
WRITE_BUFFER = 4 * PIECE
#: What a transfer's record is, and what its failed write costs (said once).
_KEPT = ("a transfer", "a restart will not resume it.")
#: The message types whose connection the endpoint hands to `serve` (Endpoint's handoff).
HANDED = frozenset({"FileWant"})


class FileHost(NamedTuple):
    """What the file transfers use of their peer."""

    entry: Callable[[str], Entry | None]
    own: Callable[[], str]
    send: Callable[[Addr, bytes, Message], None]
    show: Callable[[Print], None]
    #: Says that `what` was not kept on disk, and what that costs (PeerNode._not_kept).
    not_kept: Callable[[str, str, OSError], None]


class FileService:
    """The file transfers of one running peer; records kept in `folder()`, files saved in
    --downloads' `downloads`."""

    def __init__(
        self,
        static: X25519PrivateKey,
        host: FileHost,
        *,
        folder: Callable[[], Path],
        downloads: str,
    ) -> None:
        self._static = static
        self._entry, self._own, self._send, self._show, self._not_kept = host
        self._downloads = downloads
        self._new_id = IdMaker(os.urandom(6).hex())
        self._core: FileTransfers | None = None
        self._folder = folder
        self._timer = WakeTimer(lambda: self._run(self.core.tick))
        self._tasks: dict[int, asyncio.Task[Any]] = {}
        self._taken: dict[int, int] = {}  # bytes a pull took, ahead of those verified (bars)
        #: Writes the records of verified bytes (each with two fsyncs) away from the loop.
        self._records = ThreadPoolExecutor(1, thread_name_prefix="file-records")
        self._keeping: Future[None] | None = None  # the record it writes, if any
        self._carriers: dict[type, Callable[[Any], None]] = {}
        self.handoff = (HANDED, self.serve)

    @property
    def core(self) -> FileTransfers:
        if self._core is None:
            from peer.adapter.files.pull import name_limit
            from peer.core.files.transfer import KeepTransfer, Pull, ReadFile, Tell
            from peer.core.files.transfers import FileTransfers

            # --downloads, else $XDG_DOWNLOAD_DIR, else ~/Downloads
            given = self._downloads or os.environ.get("XDG_DOWNLOAD_DIR", "")
            downloads = Path(given).expanduser().absolute() if given else Path.home() / "Downloads"
            self._core = FileTransfers(
                own=self._own,
                entry=self._entry,
                new_id=self._new_id,
                downloads=str(downloads),
                name_max=name_limit(downloads),
            )
            self._carriers = {
                Tell: self._tell,
                ReadFile: self._read_file,
                Pull: self._pull,
                KeepTransfer: self._record,
                Print: self._show,
            }
        return self._core

    def start(self) -> None:
        if not self._folder().is_dir():
            return
        kept, problems = load_records(self._folder())
        for problem in problems:
            self._show(Print(f"[{problem}]", "error"))
        self._run(lambda now, emit: self.core.loaded(kept, now, emit))

    def typed(self, verb: str, args: str) -> None:
        self._run(lambda now, emit: self.core.typed(verb, args, now, emit))

    def received(self, message: FileOffer | FileNote | FileSeen, key: bytes) -> None:
        """A file datagram whose key the table binds to `message.sender` (renames are not
        followed here: the core follows the one of its transfer, so a flood costs no more)."""
        self._run(
            lambda now, emit: self.core.received(message, key_text(key), now, emit), follow=False
        )

    async def serve(self, handed: Handed) -> None:
        """A connection whose first message is a FileWant: the bytes asked for, or why not."""
        first, decoder, writer = handed.first, handed.decoder, handed.writer
        assert isinstance(first, FileWant) and decoder.remote_key is not None
        key = key_text(decoder.remote_key)
        transfer = self._run(
            lambda now, emit: self.core.want(first.offer, first.offset, key, now, emit)
        )
        why = transfer if isinstance(transfer, str) else changed(transfer)
        if why and not isinstance(transfer, str):  # the file changed: its transfer fails
            self._run(lambda now, emit: self.core.end(transfer, NoteState.FAILED, why, now, emit))
        if isinstance(transfer, str) or why:
            note = FileNote(self._new_id(), self._own(), first.offer, NoteState.FAILED, why)
            try:  # why not, and closed
                decoder.send(note)
                writer.write(decoder.output())
                await writer.drain()
            except (OSError, ValueError):
                pass
            finally:
                writer.close()
            return

        def progress(sent: int) -> None:
            self._run(lambda now, emit: self.core.progress(transfer, sent, emit))

        task = asyncio.current_task()
        if task is not None:
            self._tasks[transfer.number] = task
        try:
            ended = await send_file(transfer, first.offset, handed, progress)
        finally:
            decoder.close()
            if task is not None and self._tasks.get(transfer.number) is task:
                del self._tasks[transfer.number]
        self._run(lambda now, emit: self.core.served(transfer, ended or "closed", emit))

    def progress(self) -> list[tuple[int, str, int, int]]:
        """Each transfer under way: its number, what it is, bytes done and its size."""
        if self._core is None:
            return []
        taken = self._taken
        return [
            (t.number, t.about(), max(t.verified, taken.get(t.number, 0)), t.size)
            for t in self._core.transfers.values()
        ]

    def close(self) -> None:
        self._timer.cancel()
        self._records.shutdown(wait=False)
        for task in list(self._tasks.values()):
            task.cancel()

    def _run(self, event: Callable[[float, EmitFile], T], follow: bool = True) -> T:
        """Hand an event to the core (renames followed first, if `follow`); what it answered."""
        actions: list[FileAction] = []
        if follow:
            self.core.follow_renames(actions.append)
        answer = event(time.monotonic(), actions.append)
        for action in actions:
            self._carriers[type(action)](action)
        self._timer.set(self.core.next_wake())
        return answer

    def _tell(self, tell: Tell) -> None:
        entry = self._entry(tell.to)
        if entry is not None and entry.port:
            self._send((entry.ip, entry.port), key_from_text(entry.key) or b"", tell.message)

    def _read_file(self, read: ReadFile) -> None:
        task = asyncio.ensure_future(_facts(read.path))
        task.add_done_callback(
            lambda done: self._run(
                lambda now, emit: self.core.file_read(read.to, done.result(), now, emit)
            )
        )

    def _pull(self, pull: Pull) -> None:
        transfer = pull.transfer
        entry = self._entry(transfer.peer)
        key = key_from_text(transfer.peer_key)
        if entry is None or key is None:
            return
        from peer.adapter.files.pull import Puller

        noted = lambda note: self.received(note, key)  # noqa: E731
        pulled = functools.partial(self._pulled, transfer)
        puller = Puller(transfer, self._static, pulled, noted)
        task = asyncio.ensure_future(puller.run((entry.ip, entry.port), key, self._new_id()))
        self._tasks[transfer.number] = task

        def ended(done: asyncio.Task[Any]) -> None:
            self._taken.pop(transfer.number, None)
            if self._tasks.get(transfer.number) is done:
                del self._tasks[transfer.number]
            if not done.cancelled():
                outcome, why = done.result()
                self._run(lambda now, emit: self.core.pulled(transfer, outcome, why, now, emit))

        task.add_done_callback(ended)

    async def _pulled(self, transfer: Transfer, at: int, kept: bool) -> None:
        """`at` bytes of `transfer` are taken; `kept`: on disk, its record written first. Its
        line and bar follow (none once it ended)."""
        if self.core.transfers.get(transfer.number) is not transfer:
            return
        if not kept:
            self._taken[transfer.number] = at
        else:
            path = self._folder() / f"{transfer.number}.json"
            verified = replace(transfer, verified=at)
            self._keeping = self._records.submit(keep_record, path, verified)
            try:
                await asyncio.wrap_future(self._keeping)
            except OSError as exc:
                self._not_kept(*_KEPT, exc)
        self._run(lambda now, emit: self.core.progress(transfer, at, emit, kept=kept))

    def settle(self) -> None:
        """Wait for a record being written: a rename moves their folder only once none is."""
        if self._keeping is not None:
            with contextlib.suppress(OSError):  # said where it is awaited
                self._keeping.result()
            self._keeping = None

    def _record(self, record: KeepTransfer) -> None:
        transfer = record.transfer
        if record.ended and (task := self._tasks.pop(transfer.number, None)) is not None:
            task.cancel()
        self.settle()
        path = self._folder() / f"{transfer.number}.json"
        try:
            if not record.ended:
                keep_record(path, transfer)
                return
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
                if not transfer.sending and transfer.path:
                    os.unlink(transfer.path)
        except OSError as exc:
            self._not_kept(*_KEPT, exc)


async def _facts(typed: str) -> Transfer | str:
    """The file at `typed`, hashed in a thread, as a transfer not yet numbered; or what is wrong."""
    from peer.core.files.transfer import Role, Transfer

    path = Path(typed).expanduser()
    try:
        facts = os.stat(path)
        if not path.is_file():
            return f"{typed} is not a file (a folder, or a device): only a file can be sent."
        digest = await asyncio.to_thread(_sha256, path)
    except OSError as exc:
        return f"Cannot read {typed}: {os_reason(exc)}."
    where, mtime_ns = str(path.resolve()), facts.st_mtime_ns
    return Transfer(
        0, Role.SEND, "", "", "", path.name, facts.st_size, digest, where, mtime_ns=mtime_ns
    )


def _sha256(path: Path) -> str:
    with open(path, "rb") as source:
        return hashlib.file_digest(source, "sha256").hexdigest()


def load_records(folder: Path) -> tuple[list[Transfer], list[str]]:
    """The records kept in `folder`, and a line for each unreadable one (set aside)."""
    from peer.core.files.transfer import Transfer

    kept: list[Transfer] = []
    problems: list[str] = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            kept.append(msgspec.json.decode(read_bytes(path), type=Transfer))
        except (OSError, msgspec.DecodeError) as exc:
            problems.append(f"A kept transfer could not be read ({path.name}: {exc}); left out.")
            with contextlib.suppress(OSError):
                path.rename(path.with_suffix(".damaged"))
    return kept, problems


def unfinished_transfers(folder: Path) -> list[str]:
    """The file transfers not finished (a record each in `folder`), as a phrase."""
    count = 0
    with contextlib.suppress(OSError):
        count = sum(1 for _ in folder.glob("*.json"))
    are = "is" if count == 1 else "are"
    return [f"{counted(count, 'file transfer')} {are} unfinished"] if count else []


def changed(transfer: Transfer) -> str:
    """Why `transfer`'s file cannot be sent as offered any more, or ""."""
    try:
        facts = os.stat(transfer.path)
    except OSError as exc:
        return f"{transfer.path} cannot be read any more ({os_reason(exc)})"
    if facts.st_size != transfer.size or facts.st_mtime_ns != transfer.mtime_ns:
        return f"{transfer.path} changed since it was offered"
    return ""


async def send_file(
    transfer: Transfer,
    offset: int,
    handed: Handed,
    progress: Callable[[int], None],
) -> str:
    """Send `transfer`'s file from `offset`; "" when every byte went, else why not."""
    stream, reader, writer = handed.decoder, handed.reader, handed.writer
    writer.transport.set_write_buffer_limits(high=WRITE_BUFFER)
    piece = memoryview(bytearray(PIECE))
    try:
        with open(transfer.path, "rb", buffering=0) as source:
            source.seek(offset)
            while offset < transfer.size:
                if not (read := source.readinto(piece[: min(PIECE, transfer.size - offset)])):
                    return "the file is shorter than when it was offered"
                writer.write(stream.seal_data(piece[:read]))
                await writer.drain()
                offset += read
                progress(offset)
        await asyncio.wait_for(reader.read(1), CLOSE_WAIT)
        return ""
    except (OSError, ValueError) as exc:
        return os_reason(exc)
    except TimeoutError:
        return ""
    finally:
        writer.close()
