"""The messages of files sent peer to peer (docs/PROTOCOL.md, "Files")."""

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
    """`offer` names it for as long as it lasts, across restarts; `name` is the sender's
    (the receiver makes its own safe one); `sha256`, the whole file's hex digest."""

    sender: str
    offer: Id
    name: str
    size: Int
    sha256: str


class FileNote(WireMessage, frozen=True):
    """`reason`: a sentence for the user, "" when `state` says it all."""

    sender: str
    offer: Id
    state: NoteState
    reason: str


class FileSeen(WireMessage, frozen=True):
    sender: str
    reply_to: Id


class FileWant(WireMessage, frozen=True):
    offer: Id
    offset: Int


FileMessage = FileOffer | FileNote | FileSeen | FileWant

#: The datagrams a peer sends another about a transfer (each names its sender).
FILE_DATAGRAMS: Final = (FileOffer, FileNote, FileSeen)
