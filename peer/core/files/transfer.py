"""One transfer as both sides keep it, on disk and in memory, and the words that show it."""

from __future__ import annotations

import enum

from msgspec import Struct

#: Largest file offered or accepted, in bytes.
MAX_FILE_SIZE = 2 * 1024**3
#: Seconds an offer waits for its answer before it lapses, on both sides.
LAPSE = 300.0
#: Seconds between a receiver's attempts to resume while its sender is online.
RETRY = 2.0
#: ... after a write failed (a full disk): room is made by a person, not in a moment.
DISK_RETRY = 30.0


class Role(enum.StrEnum):
    SEND = "send"
    RECEIVE = "receive"


class Phase(enum.StrEnum):
    """Where a transfer is: OFFERED waits for the receiver's answer; MOVING was accepted,
    and its bytes move or wait to. How one ended (done, rejected, ...) is said and kept
    only in memory, for /files."""

    OFFERED = "offered"
    MOVING = "moving"


class Transfer(Struct):
    """A transfer as kept on disk. `number` is this peer's own short name for it (what
    /accept and /cancel take); `offer` the id both sides know it by; `peer` and
    `peer_key` the other side. `name` is the file's name (the receiver's is made safe).
    `path`: the sender's file, or the receiver's partial file ("" until accepted).
    `verified`: the receiver's bytes verified and on disk; the sender's bytes served.
    `mtime_ns`: the sender's file's when offered, to notice it changed."""

    number: int
    role: Role
    offer: str
    peer: str
    peer_key: str
    name: str
    size: int
    sha256: str
    path: str = ""
    phase: Phase = Phase.OFFERED
    verified: int = 0
    mtime_ns: int = 0

    @property
    def sending(self) -> bool:
        return self.role is Role.SEND

    def about(self) -> str:
        """`report.pdf to bob`, `report.pdf from alice`: what a line names it by."""
        return f"{self.name} {'to' if self.sending else 'from'} {self.peer}"

    def done_part(self) -> str:
        """How far it is: `45% (9.0 MB of 20.0 MB)`."""
        done, whole = size_text(self.verified), size_text(self.size)
        return f"{percent(self.verified, self.size)}% ({done} of {whole})"


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
