"""One transfer as both sides keep it, the words that show it, the actions of the file
transfers' core."""

from __future__ import annotations

import enum
from collections.abc import Callable

from msgspec import Struct

from peer.core.actions import Print
from wire.messages import FileNote, FileOffer, FileSeen


class Role(enum.StrEnum):
    SEND = "send"
    RECEIVE = "receive"


class TransferPhase(enum.StrEnum):
    """Where a transfer is: OFFERED waits for the receiver's answer; MOVING was accepted.
    How one ended is kept only in memory, for /files."""

    OFFERED = "offered"
    MOVING = "moving"


class Transfer(Struct):
    """A transfer as kept on disk: `number`, this peer's short name for it; `offer`, the id
    both sides know; `path`, the sender's file or the receiver's partial one; `verified`,
    the bytes verified and on disk, or served."""

    number: int
    role: Role
    offer: str
    peer: str
    peer_key: str
    name: str
    size: int
    sha256: str
    path: str = ""
    phase: TransferPhase = TransferPhase.OFFERED
    verified: int = 0
    mtime_ns: int = 0

    @property
    def sending(self) -> bool:
        return self.role is Role.SEND

    def about(self) -> str:
        """`report.pdf to bob`, `report.pdf from alice`: what a line names it by."""
        return f"{self.name} {'to' if self.sending else 'from'} {self.peer}"

    def done_part(self, at: int | None = None) -> str:
        """How far it is, at `at` bytes (by default those verified): `45% (9.0 MB of 20.0 MB)`."""
        done = self.verified if at is None else at
        return f"{percent(done, self.size)}% ({size_text(done)} of {size_text(self.size)})"


def percent(part: int, whole: int) -> int:
    """`part` of `whole` in whole percent, rounded down (100 only when all is there)."""
    return 100 if whole <= 0 or part >= whole else part * 100 // whole


def size_text(size: int) -> str:
    """`size` bytes for people: 512 bytes, 2.0 KB, 20.0 MB, 1.5 GB (powers of 1000)."""
    if size < 1000:
        return f"{size} bytes" if size != 1 else "1 byte"
    for unit, scale in (("KB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        if size < scale * 1000 or unit == "GB":
            return f"{size / scale:.1f} {unit}"
    raise AssertionError("unreachable")


class Ended(Struct, frozen=True):
    """A transfer that ended, as /files lists it: its number, what it was, how it ended."""

    number: int
    about: str
    how: str


class Tell(Struct, frozen=True):
    """Send `message` as a datagram to the peer the table calls `to`."""

    to: str
    message: FileOffer | FileNote | FileSeen


class ReadFile(Struct, frozen=True):
    """Read and hash the file at `path` (typed) to offer it to `to`: what is wrong with it, or
    its facts as a transfer not yet numbered, go to `FileTransfers.file_read`."""

    to: str
    path: str


class Pull(Struct, frozen=True):
    """Take `transfer`'s bytes from its sender, from `verified` on, told as they are verified."""

    transfer: Transfer


class KeepTransfer(Struct, frozen=True):
    """Write `transfer`'s record to disk (replacing the one kept); once `ended`, close any
    connection moving its bytes, and delete its record and a receiver's partial file."""

    transfer: Transfer
    ended: bool = False


FileAction = Tell | ReadFile | Pull | KeepTransfer | Print
EmitFile = Callable[[FileAction], None]


class Outcome(enum.Enum):
    """How a pull ended, as its adapter tells the core."""

    DONE = "done"  #: every byte verified, the whole file's SHA-256 too; saved
    BROKEN = "broken"  #: what came is not the file offered: it cannot go on
    DROPPED = "dropped"  #: the connection could not be made or broke: it resumes
    DISK = "disk"  #: the partial file could not be written: it resumes later
