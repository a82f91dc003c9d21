"""What the registry core asks its adapter to do. The adapter carries them out in order, so a
store action listed before a send is durable before that send leaves.

Each action is a small frozen record, a msgspec Struct as the peer's actions are
(peer.core.actions): a frozen dataclass execs generated code for each class as the registry
starts (about half a millisecond each, ten of them here), and is made in Python for every
action; a Struct is made in C.
"""

from __future__ import annotations

from collections.abc import Callable

from msgspec import Struct

from registry.core.owners import Owner
from wire.messages import Message, RoomMessage, StoredMessage

Addr = tuple[str, int]


class Send(Struct, frozen=True):
    """Send `message` to `addr` (over UDP, or TCP when it does not fit or came over TCP),
    for the public key `key` there: an answer's is whoever asked, a push's the table's row
    at the address (b"": none known, and it is not sent)."""

    addr: Addr
    message: Message
    key: bytes


class SendMany(Struct, frozen=True):
    """Send one `message` to each of `addrs`, for the key of the same place in `keys`, as
    `Send` would to each (a relay's fan-out: encoded once, sent in one tight loop)."""

    addrs: tuple[Addr, ...]
    message: Message
    keys: tuple[bytes, ...]


class StoreMail(Struct, frozen=True):
    """Append `message` to the mailbox of `owner` and make it durable."""

    owner: str
    message: StoredMessage


class DropMail(Struct, frozen=True):
    """Remove the messages `ids` from the mailbox of `owner` (atomic replace)."""

    owner: str
    ids: tuple[str, ...]


class MoveMail(Struct, frozen=True):
    """Rename the mailbox of `old` to `new` (a rename), merging with any messages there."""

    old: str
    new: str


class KeepOwner(Struct, frozen=True):
    """Keep beside mailbox `box` (a name key) what proves who owns it (registry/core/owners.py),
    durably, replacing what was kept there before."""

    box: str
    owner: Owner


class SaveTable(Struct, frozen=True):
    """Persist the table of known names (the adapter asks the core for its rows): its
    version, and the rows of the name keys `rows` (a key no longer in the table: that row
    is gone), or every row when `rows` is None. A row changed in a pass with no SaveTable
    naming it is persisted whenever a later one does: a backend that writes row by row (a
    service's, registry/adapter/cluster/store.py) need not look at the others; one that
    writes the whole table may."""

    rows: tuple[str, ...] | None = None


class KeepHistory(Struct, frozen=True):
    """Room `room` (its key) said a line: `history` is its history now, the line last. Kept
    on disk without holding anything back (registry/adapter/room_history.py)."""

    room: str
    history: tuple[RoomMessage, ...]


class DropHistory(Struct, frozen=True):
    """Room `room` (its key) is gone: forget its history on disk."""

    room: str


class CheckPassword(Struct, frozen=True):
    """Run `registry.core.credentials.proven(password, stored, salt)` off the event loop's
    thread (a scrypt of some 0.3 s), and hand the hash it returns to the core's
    `password_checked` with `ticket`: the registration that waits for it goes on then."""

    ticket: str
    password: str
    stored: str
    salt: bytes


class Log(Struct, frozen=True):
    """One line for the registry's log. `kind` is "" for a line about an event; for a
    refusal or a failed check it names the rejection (a constant, never text from the
    network), and the line goes through the one rate-limited log (net/drop_log.py)."""

    line: str
    kind: str = ""


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
    | CheckPassword
    | Log
)
#: Takes each action as a part decides it, in order (docs/ARCHITECTURE.md, "Cores and adapters").
Emit = Callable[[Action], None]
