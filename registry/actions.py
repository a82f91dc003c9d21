"""What the registry core asks its adapter to do. The adapter carries them out in order, so a
store action listed before a send is durable before that send leaves."""

from __future__ import annotations

from dataclasses import dataclass

from registry.owners import Owner
from wire.messages import Message, RoomMessage, StoredMessage

Addr = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Send:
    """Send `message` to `addr` (over UDP, or TCP when it does not fit or came over TCP);
    `key`, when given, is the public key it is for: an answer goes to whoever asked, though
    the table holds another key at that address (b"": the key at the address)."""

    addr: Addr
    message: Message
    key: bytes = b""


@dataclass(frozen=True, slots=True)
class SendMany:
    """Send one `message` to each of `addrs`, as `Send` would to each (a relay's fan-out:
    encoded once, sent in one tight loop)."""

    addrs: tuple[Addr, ...]
    message: Message


@dataclass(frozen=True, slots=True)
class StoreMail:
    """Append `message` to the mailbox of `owner` and make it durable."""

    owner: str
    message: StoredMessage


@dataclass(frozen=True, slots=True)
class DropMail:
    """Remove the messages `ids` from the mailbox of `owner` (atomic replace)."""

    owner: str
    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MoveMail:
    """Rename the mailbox of `old` to `new` (a rename), merging with any messages there."""

    old: str
    new: str


@dataclass(frozen=True, slots=True)
class KeepOwner:
    """Keep beside mailbox `box` (a name key) what proves who owns it (registry/owners.py),
    durably, replacing what was kept there before."""

    box: str
    owner: Owner


@dataclass(frozen=True, slots=True)
class SaveTable:
    """Persist the table of known names (the adapter asks the core for its rows)."""


@dataclass(frozen=True, slots=True)
class KeepHistory:
    """Room `room` (its key) said a line: `history` is its history now, the line last. Kept
    on disk without holding anything back (registry/room_history.py)."""

    room: str
    history: tuple[RoomMessage, ...]


@dataclass(frozen=True, slots=True)
class DropHistory:
    """Room `room` (its key) is gone: forget its history on disk."""

    room: str


@dataclass(frozen=True, slots=True)
class Log:
    """One line for the registry's log."""

    line: str


Action = (
    Send
    | SendMany
    | StoreMail
    | DropMail
    | MoveMail
    | KeepOwner
    | SaveTable
    | KeepHistory
    | DropHistory
    | Log
)
