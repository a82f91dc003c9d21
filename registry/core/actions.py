"""What the registry core asks its adapter to do, in order: a store action listed before a
send is durable before that send leaves, unless the send passes a peer's line on
(PASSED_ON); to one peer, sends leave in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from msgspec import Struct

from wire.messages import ChannelMessage, Chat, Message, RoomMessage, StoredMessage

Addr = tuple[str, int]


class Send(Struct, frozen=True):
    """Send `message` to `addr` (over UDP, or TCP when it does not fit or came over TCP),
    sealed for `key` (b"": none known, and it is not sent)."""

    addr: Addr
    message: Message
    key: bytes


#: A peer's line passed on (a save's, a channel's, a room's): it tells of nothing stored,
#: and its sender is answered only once its copies are durable (registry/adapter/commit.py).
PASSED_ON = frozenset((Chat, ChannelMessage, RoomMessage))


class SendMany(Struct, frozen=True):
    """`Send` one `message` to each of `addrs`, for the key at the same place in `keys`."""

    addrs: tuple[Addr, ...]
    message: Message
    keys: tuple[bytes, ...]


class StoreMail(Struct, frozen=True):
    """Append `message` to the mailbox of `owner` and make it durable."""

    owner: str
    message: StoredMessage


class DropMail(Struct, frozen=True):
    """Remove the messages `ids` from the mailbox of `owner`."""

    owner: str
    ids: tuple[str, ...]


class MoveMail(Struct, frozen=True):
    """Rename the mailbox of `old` to `new` (a rename), merging with any messages there."""

    old: str
    new: str


class Owner(Struct, frozen=True):
    """What proves a mailbox's name is its owner's, kept beside the box, so that a registry
    that lost its table never hands the box to another key (registry/core/table.py)."""

    name: str
    key: str
    token: str
    password: str
    ip: str
    port: int
    tickets: str = ""

    def to_json(self) -> dict[str, Any]:
        return msgspec.structs.asdict(self)


class KeepOwner(Struct, frozen=True):
    """Keep `owner` beside mailbox `box` (a name key), durably."""

    box: str
    owner: Owner


class SaveTable(Struct, frozen=True):
    """Persist the table's version and the rows of the name keys `rows` (a key no longer
    in the table: that row is gone), or every row when None. A backend may write more."""

    rows: tuple[str, ...] | None = None


class KeepHistory(Struct, frozen=True):
    """Room `room` (its key) said a line: `history` is its history now, the line last; or
    the room is gone (`history` empty): its history is forgotten."""

    room: str
    history: tuple[RoomMessage, ...] = ()


class CheckPassword(Struct, frozen=True):
    """Work on a password off the event loop's thread (registry/adapter/password_checks.py), its
    outcome handed to `password_checked` with `ticket`: with no `session`, begin an SRP-6a
    exchange for `name` against `stored`, bound to the asker's key `client`; with one (the
    Challenge's, opaque here), check `proof` against it."""

    ticket: str
    name: str = ""
    stored: str = ""
    client: bytes = b""
    session: Any = None
    proof: str = ""


class Log(Struct, frozen=True):
    """One line for the registry's log. A `kind` (a constant) names a rejection: the line
    goes through the one rate-limited log (net/drop_log.py)."""

    line: str
    kind: str = ""


#: What is kept on disk; and every action.
StoreAction = StoreMail | DropMail | MoveMail | KeepOwner | SaveTable | KeepHistory
Action = Send | SendMany | StoreAction | CheckPassword | Log
#: Takes each action as a part decides it, in order (docs/ARCHITECTURE.md, "Cores and adapters").
Emit = Callable[[Action], None]
