"""What the file transfers' core asks its adapter to do (peer/adapter/files/service.py), in order.
Lines for the user are peer.core.actions.Print."""

from __future__ import annotations

import enum
from collections.abc import Callable

from msgspec import Struct

from peer.core.actions import Print
from peer.core.files.transfer import Transfer
from wire.file_messages import FileNote, FileOffer, FileSeen


class Tell(Struct, frozen=True):
    """Send `message` as a datagram to the peer the table calls `to`."""

    to: str
    message: FileOffer | FileNote | FileSeen


class ReadFile(Struct, frozen=True):
    """Look at the file at `path` (typed by the user) and hash it, then hand the core its
    facts or what is wrong with it (`FileTransfers.file_read`), to offer it to `to`."""

    to: str
    path: str


class Pull(Struct, frozen=True):
    """Open a connection to the sender of `transfer` and take its bytes from
    `transfer.verified` on, reporting to the core as they are verified."""

    transfer: Transfer


class Stop(Struct, frozen=True):
    """Close any connection moving the bytes of transfer `number`."""

    number: int


class Keep(Struct, frozen=True):
    """Write `transfer`'s record to disk (replacing the one kept)."""

    transfer: Transfer


class Forget(Struct, frozen=True):
    """Delete `transfer`'s record, and a receiver's partial file."""

    transfer: Transfer


FileAction = Tell | ReadFile | Pull | Stop | Keep | Forget | Print
EmitFile = Callable[[FileAction], None]


class Outcome(enum.Enum):
    """How a pull ended, as its adapter tells the core."""

    DONE = "done"  #: every byte verified, the whole file's SHA-256 too; saved
    BROKEN = "broken"  #: what came is not the file offered: it cannot go on
    DROPPED = "dropped"  #: the connection could not be made or broke: it resumes
    DISK = "disk"  #: the partial file could not be written: it resumes later


class FileFacts(Struct, frozen=True):
    """A file to offer, as the adapter found it: its plain name, size, SHA-256 (hex),
    modification time, and the absolute path it was read at."""

    name: str
    size: int
    sha256: str
    mtime_ns: int
    path: str
