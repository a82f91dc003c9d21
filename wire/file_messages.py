"""The messages of files sent peer to peer (docs/PROTOCOL.md, "Files"): an offer and what
settles it as datagrams, each answered by a FileSeen; the bytes over a TCP connection the
receiver opens with a FileWant, answered with data records (secure/stream.py)."""

from __future__ import annotations

import enum
from typing import Final

from wire.base import Id, Int, WireMessage

#: Longest file name an offer may carry, in characters (most file systems allow 255 bytes).
MAX_FILE_NAME = 255


class NoteState(enum.StrEnum):
    """How a transfer ended, as a FileNote tells the other side."""

    REJECTED = "rejected"
    CANCELLED = "cancelled"
    DONE = "done"
    FAILED = "failed"


class FileOffer(WireMessage, frozen=True):
    """`sender` offers a file: `offer` names it for as long as it lasts (across restarts),
    `name` is the name it had there (the receiver makes its own safe one), `size` its bytes
    and `sha256` the hex digest of the whole file."""

    id: Id
    sender: str
    offer: Id
    name: str
    size: Int
    sha256: str


class FileNote(WireMessage, frozen=True):
    """The transfer `offer` ended on `sender`'s side as `state` says; `reason` is a
    sentence for the user ("" when the state says it all)."""

    id: Id
    sender: str
    offer: Id
    state: NoteState
    reason: str


class FileSeen(WireMessage, frozen=True):
    """`sender` has the FileOffer or FileNote `reply_to`."""

    id: Id
    sender: str
    reply_to: Id


class FileWant(WireMessage, frozen=True):
    """The first message of a TCP connection from a receiver: send the file of `offer`
    from byte `offset` to its end."""

    id: Id
    offer: Id
    offset: Int


FileMessage = FileOffer | FileNote | FileSeen | FileWant

#: The datagrams a peer sends another about a transfer (each names its sender).
FILE_DATAGRAMS: Final = (FileOffer, FileNote, FileSeen)
