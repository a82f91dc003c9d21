"""The closed set of ChatApp messages (docs/PROTOCOL.md). "" is "none" (no token, no
password), so that every field has one JSON type."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Annotated, Final, NamedTuple

import msgspec
from msgspec import Struct

from wire.base import After, ByName, Id, Int, Items, Reply, WireMessage, types_by_name
from wire.desk.messages import DeskMessage
from wire.limits import MAX_SRP, MAX_TICKET
from wire.refusals import RefusalCode

#: A field of a password's exchange (secure/password.py): hex, "$" between its parts.
Srp = Annotated[str, msgspec.Meta(max_length=MAX_SRP)]
#: A mailbox ticket (secure/tickets.py), or the secret that makes them: "" for none.
Ticket = Annotated[str, msgspec.Meta(max_length=MAX_TICKET)]

# -- records carried inside messages: JSON arrays (no field names per row) ---------------


class Entry(Struct, array_like=True, frozen=True, order=True, gc=False, forbid_unknown_fields=True):
    """A table row. `key`: its owner's public key (wire.keys.key_text), or "". In a
    TableUpdate, port 0 removes the row. Untracked by the collector: peers hold thousands."""

    name: str
    ip: str
    port: Int
    online: bool
    key: str = ""
    #: why its owner is away (SetAway), or "": here
    away: str = ""


class Alias(NamedTuple):
    """A name given up by a rename within the registry's RENAME_GRACE, and where it leads."""

    old: str
    new: str


#: The `kind` of a StoredMessage that is a line of the registry's own, not a message.
NOTICE_KIND = "notice"


class StoredMessage(NamedTuple):
    """`kind`: "direct", "channel" or NOTICE_KIND (sender ""); `stamp`: when it was saved.
    `saved_by`: of a direct message, the key whose SaveMessage brought it; else "".
    `after`: the line's own (Chat.after), shown first by the owner, as a live line's."""

    id: str
    sender: str
    text: str
    stamp: str
    kind: str
    saved_by: str = ""
    after: After = ""


# -- replies ------------------------------------------------------------------------------


class Ack(Reply, frozen=True):
    """The message `reply_to` names came (a request: and was done)."""


class Acks(WireMessage, frozen=True):
    replies: Items[Id]


class Refused(Reply, frozen=True):
    """`reason` is for the user; a program acts on `code` alone."""

    reason: str
    code: RefusalCode = RefusalCode.OTHER


#: The reason of the Refused that answers a request of another version.
VERSION_REFUSAL = (
    "ChatApp versions differ: what you sent could not be read here. "
    "Use the same version of ChatApp on every machine."
)


class TooBig(Reply, frozen=True):
    """The answer to `reply_to` is too big for a datagram: ask again over TCP."""


class Busy(Reply, frozen=True):
    """Answers only a registration or a password's ask: send it again in `wait_ms`."""

    wait_ms: Int


# -- registration and the table -----------------------------------------------------------


def address(text: str) -> tuple[str, int] | None:
    """The address "ip:port" a message names (a registry, a desk), or None when it is not one."""
    ip, _, port = text.rpartition(":")
    if ip and port.isdigit() and 0 < int(port) < 65536:
        return ip, int(port)
    return None


def ring_next(here: tuple[str, int], ring: Sequence[tuple[str, int]]) -> tuple[str, int] | None:
    """The registry of a service's `ring` its clients try after `here`: the next in the order
    of addresses, past the last the first (None: the ring is empty)."""
    return min([addr for addr in ring if addr > here] or ring, default=None)


def is_token(text: str) -> bool:
    """Whether `text` has the shape of a token: `secrets.token_hex(16)`'s."""
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)


class Register(WireMessage, frozen=True):
    """`port`: the client port. `token`: from an earlier Welcome, else one the peer made and
    kept before asking (`is_token`). `wire`: the sender's WIRE_VERSION. `proof`: SRP-6a's
    "<A>$<M>" answering this key's last PasswordChallenge for the name; `verifier`: a new
    name's password, as the registry keeps it (secure/password.py); "": none."""

    name: str
    port: Int
    token: str
    proof: Srp
    wire: str
    verifier: Srp = ""


class PasswordAsk(WireMessage, frozen=True):
    """A peer with a password asks to prove it for `name` (SRP-6a, secure/password.py)."""

    name: str


class PasswordChallenge(Reply, frozen=True):
    """Answers PasswordAsk. `new`: the registry has no such name (a password may be set).
    Else `scrypt` ("<log2 N>$<salt>"), `salt` and `public` (B) in hex, for the proof; all ""
    when the asker's key owns the name (no proof is needed)."""

    new: bool
    scrypt: Srp = ""
    salt: Srp = ""
    public: Srp = ""


class Welcome(Reply, frozen=True):
    name: str
    token: str
    version: Int
    entries: Items[Entry]
    mail: Items[StoredMessage]
    aliases: Items[Alias]
    #: each "ip:port" (docs/PROTOCOL.md, "Several registries")
    registries: Items[str] = ()
    #: the secret this name's mailbox tickets are made with (secure/tickets.py)
    tickets: Ticket = ""


class MailTaken(ByName, frozen=True):
    ids: Items[str]


class MoreMail(Reply, frozen=True):
    """Answers MailTaken while the mailbox holds more: its next part, oldest first."""

    mail: Items[StoredMessage]


class Deregister(ByName, frozen=True):
    """`name` goes offline: `dereg`, or `/quit` (`quitting`, with an optional `farewell`)."""

    quitting: bool
    farewell: str


class Keepalive(ByName, frozen=True):
    """`name` is still here, its table at `version` (-1: none); answered with Alive."""

    version: Int = -1


class Alive(Reply, frozen=True):
    version: Int
    registries: Items[str] = ()


class TableUpdate(WireMessage, frozen=True):
    """Rows changed after `since` (-1: `version` - 1), in the order of their last change."""

    version: Int
    entries: Items[Entry]
    since: Int = -1

    def start(self) -> int:
        """The version a table must be at, or past, for this update to apply to it."""
        return self.since if self.since >= 0 else self.version - 1


class TableRequest(WireMessage, frozen=True):
    """Asks for a TableSnapshot."""


class TableSnapshot(Reply, frozen=True):
    version: Int
    entries: Items[Entry]
    aliases: Items[Alias]


# -- messages -----------------------------------------------------------------------------


class Chat(WireMessage, frozen=True, omit_defaults=True):
    """`saved_by`: as in StoredMessage, from the registry; from a peer "", and ignored.
    `ticket`: the sender's mailbox ticket for the recipient's key (secure/tickets.py), ""."""

    sender: str
    to: str
    text: str
    saved_by: str = ""
    after: After = ""
    ticket: Ticket = ""


class SaveMessage(WireMessage, frozen=True, omit_defaults=True):
    """`id`: the Chat's. `text` is sealed to the recipient's `key` ("" for none;
    peer/core/sealed_mail.py). `typed`: when the sender typed it (whole seconds since the
    epoch, by its clock; 0: not known). `ticket`: the one the recipient handed the sender."""

    sender: str
    token: str
    to: str
    text: str
    key: str = ""
    after: After = ""
    typed: int = 0
    ticket: Ticket = ""


class Saved(Reply, frozen=True):
    """`refused`: "", or a sentence for the user (the recipient's mailbox is full)."""

    to: str
    delivered: bool
    refused: str


class ChannelPost(WireMessage, frozen=True, omit_defaults=True):
    """`send_all`: relay `text` to every other registered peer."""

    sender: str
    token: str
    text: str
    after: After = ""


class Relayed(Reply, frozen=True):
    """Answers a ChannelPost or RoomPost once every other member has it. Never acked."""


class Restarted(WireMessage, frozen=True):
    """Never acked: the next keepalive makes up for a lost one."""

    registries: Items[str] = ()


class ChannelMessage(WireMessage, frozen=True, omit_defaults=True):
    sender: str
    text: str
    after: After = ""


# -- rooms and renames --------------------------------------------------------------------


class Join(ByName, frozen=True):
    """Enter `room` (created on demand), leaving any other room."""

    room: str


class Leave(ByName, frozen=True):
    """Leave the room `name` is in."""


class RoomPost(WireMessage, frozen=True, omit_defaults=True):
    sender: str
    token: str
    room: str
    text: str
    after: After = ""


class RoomMessage(WireMessage, frozen=True, omit_defaults=True):
    sender: str
    room: str
    text: str
    stamp: str
    history: bool
    after: After = ""
    #: the room's topic, kept with its history by the registry; never sent to a peer
    topic: bool = False


class RoomNotice(WireMessage, frozen=True):
    room: str
    text: str


class RoomsRequest(WireMessage, frozen=True):
    """Asks for a RoomList."""


class RoomList(Reply, frozen=True):
    rooms: Items[str]
    counts: Items[Int]
    #: each room's topic, or ""
    topics: Items[str] = ()


class SetTopic(ByName, frozen=True):
    """Make `text` the topic of `room`, which `name` is in."""

    room: str
    text: str


#: The text of a SetAway that gives no reason.
NO_REASON = "away"


class SetAway(ByName, frozen=True):
    """Mark `name` away, saying `text` ("": back; NO_REASON: no reason); shown in its row."""

    text: str = ""


class Rename(ByName, frozen=True):
    """Change `name` to `new_name`, keeping table entry, mailbox and room."""

    new_name: str


class Notice(WireMessage, frozen=True):
    """`quitter`: who quit, in a quit announcement (a peer folds a burst into one line)."""

    text: str
    quitter: str = ""


# -- files, peer to peer (docs/PROTOCOL.md, "Files") --------------------------------------

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


Message = (
    Ack
    | Acks
    | Refused
    | TooBig
    | Busy
    | Register
    | PasswordAsk
    | PasswordChallenge
    | Welcome
    | MailTaken
    | MoreMail
    | Deregister
    | Keepalive
    | Alive
    | TableUpdate
    | TableRequest
    | TableSnapshot
    | Chat
    | SaveMessage
    | Saved
    | ChannelPost
    | Relayed
    | Restarted
    | ChannelMessage
    | Join
    | Leave
    | RoomPost
    | RoomMessage
    | RoomNotice
    | RoomsRequest
    | RoomList
    | Rename
    | Notice
    | SetTopic
    | SetAway
    | DeskMessage
    | FileMessage
)

#: Every message type, by the name it travels under.
MESSAGE_TYPES: dict[str, type[Message]] = types_by_name(Message)

#: Fields a log line never shows: what proves a name is someone's.
SECRET_FIELDS = frozenset({"token", "proof", "verifier"})


def for_log(message: object) -> str:
    """`message` as a verbose log line shows it, its SECRET_FIELDS shown as "…"."""
    if not isinstance(message, WireMessage):
        return repr(message)
    fields = []
    for name in message.__struct_fields__:
        value = getattr(message, name)
        hidden = name in SECRET_FIELDS and value
        fields.append(f"{name}={'…' if hidden else repr(value)}")
    return f"{type(message).__name__}({', '.join(fields)})"


def inbound_line(message: Message, addr: tuple[str, int]) -> str:
    """The verbose log's line for `message` received from `addr` (tokens hidden)."""
    return f"<- {addr[0]}:{addr[1]} {for_log(message)}"
