"""The closed set of ChatApp messages (`Message`; `MESSAGE_TYPES`, its table, the codec's).

Each has an `id` unique per sender; a reply names its request in `reply_to`. The same types
travel both ways, in datagrams and TCP frames. "" is "none" (no token, no password), so
that every field has one JSON type.
"""

from __future__ import annotations

from typing import NamedTuple

from wire.base import Id, Int, Items, WireMessage, types_by_name
from wire.desk.messages import DeskMessage
from wire.file_messages import FileMessage
from wire.refusals import RefusalCode

# -- records carried inside messages: named tuples, JSON arrays (no field names per row) --


class Entry(NamedTuple):
    """One row of the registry's table: a name, where it listens, whether it is online, and
    its owner's public key (unpadded URL-safe base64; "" for a row of no key). In a
    TableUpdate, port 0 means the name was released and the row is to be removed."""

    name: str
    ip: str
    port: Int
    online: bool
    key: str = ""


class Alias(NamedTuple):
    """A name given up by a rename a moment ago (the registry's RENAME_GRACE), and the name
    it leads to now, for a peer that never saw the rename."""

    old: str
    new: str


#: The `kind` of a StoredMessage that is a line of the registry's own, not a message.
NOTICE_KIND = "notice"


class StoredMessage(NamedTuple):
    """A message kept in a mailbox: `kind` "direct", "channel" or NOTICE_KIND (sender "");
    `stamp`, when it was saved. `saved_by`: of a direct message, the key (wire.keys.key_text)
    whose SaveMessage brought it; else ""."""

    id: str
    sender: str
    text: str
    stamp: str
    kind: str
    saved_by: str = ""


# -- replies ------------------------------------------------------------------------------


class Ack(WireMessage, frozen=True):
    """The request or push `reply_to` arrived and was handled."""

    id: Id
    reply_to: Id


class Acks(WireMessage, frozen=True):
    """An Ack for each of `replies`: one answer for the messages of one datagram (or one
    pass of the sender's event loop)."""

    id: Id
    replies: Items[Id]


class Refused(WireMessage, frozen=True):
    """The request `reply_to` was refused; `reason` is a sentence for the user, `code` what
    the refusal means to the program (the one to act on)."""

    id: Id
    reply_to: Id
    reason: str
    code: RefusalCode = RefusalCode.OTHER


def version_refusal(kind: str) -> str:
    """The reason of the Refused that answers a `kind` request of another version."""
    return (
        f"ChatApp versions differ: your {kind} could not be read here. "
        "Use the same version of ChatApp on every machine."
    )


class TooBig(WireMessage, frozen=True):
    """The answer to `reply_to` does not fit a datagram: ask again over TCP (like DNS's TC bit)."""

    id: Id
    reply_to: Id


class Busy(WireMessage, frozen=True):
    """The registry is too far behind to answer `reply_to` (a registration) now: send it
    again in `wait_ms` milliseconds (a join storm)."""

    id: Id
    reply_to: Id
    wait_ms: Int


# -- registration and the table -----------------------------------------------------------


def address(text: str) -> tuple[str, int] | None:
    """The address "ip:port" a message names (a registry, a desk), or None when it is not one."""
    ip, _, port = text.rpartition(":")
    if ip and port.isdigit() and 0 < int(port) < 65536:
        return ip, int(port)
    return None


def is_token(text: str) -> bool:
    """Whether `text` has the shape of a token: `secrets.token_hex(16)`'s."""
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)


class Register(WireMessage, frozen=True):
    """Take `name` (first registration, `reg`, or a restart) for the client `port`.

    `token`: from an earlier Welcome; the first time, one the peer made and kept before
    asking (`is_token`), so that the name is its own even if the answer is lost.
    `password`: "" for none. `wire`: the sender's WIRE_VERSION; the registry refuses another.
    """

    id: Id
    name: str
    port: Int
    token: str
    password: str
    wire: str


class Welcome(WireMessage, frozen=True):
    """Registration accepted: the token, the whole table, and the mailbox (its first part
    when too big for one message: MoreMail brings the rest)."""

    id: Id
    reply_to: Id
    name: str
    token: str
    version: Int
    entries: Items[Entry]
    mail: Items[StoredMessage]
    aliases: Items[Alias]
    #: where the service's registries are ("ip:port"), for a peer to move to when this
    #: one stops answering (docs/SCALING.md); empty for a registry on its own
    registries: Items[str] = ()


class MailTaken(WireMessage, frozen=True):
    """The peer has shown the stored messages `ids`: the registry may delete them now."""

    id: Id
    name: str
    token: str
    ids: Items[str]


class MoreMail(WireMessage, frozen=True):
    """Answer to MailTaken while the mailbox holds more: its next part, oldest first (else
    an Ack)."""

    id: Id
    reply_to: Id
    mail: Items[StoredMessage]


class Deregister(WireMessage, frozen=True):
    """`name` goes offline: `dereg`, or `/quit` (`quitting`, with an optional `farewell`)."""

    id: Id
    name: str
    token: str
    quitting: bool
    farewell: str


class Keepalive(WireMessage, frozen=True):
    """`name` is still here, its table at `version` (-1: none); answered with Alive."""

    id: Id
    name: str
    token: str
    version: Int = -1


class Alive(WireMessage, frozen=True):
    """Answer to Keepalive: the table version the peer should hold, with no push on its way
    to it (a peer behind it takes the whole table), and the service's registries (as in
    Welcome)."""

    id: Id
    reply_to: Id
    version: Int
    registries: Items[str] = ()


class TableUpdate(WireMessage, frozen=True):
    """Pushed to online peers: the rows changed after version `since` (-1: `version` - 1)
    to make `version`, each as it is then, in the order of their last change (port 0: gone)."""

    id: Id
    version: Int
    entries: Items[Entry]
    since: Int = -1

    def start(self) -> int:
        """The version a table must be at, or past, for this update to apply to it."""
        return self.since if self.since >= 0 else self.version - 1


class TableRequest(WireMessage, frozen=True):
    """Ask for the whole table."""

    id: Id


class TableSnapshot(WireMessage, frozen=True):
    """The whole table at `version`, with its aliases, for TableRequest."""

    id: Id
    reply_to: Id
    version: Int
    entries: Items[Entry]
    aliases: Items[Alias]


# -- messages -----------------------------------------------------------------------------


class Chat(WireMessage, frozen=True):
    """A direct message from `sender` to `to`, from the sender or delivered by the registry
    (`saved_by` then as in StoredMessage; "" from a peer, and ignored there)."""

    id: Id
    sender: str
    to: str
    text: str
    saved_by: str = ""


class SaveMessage(WireMessage, frozen=True):
    """Ask the registry to deliver or store a direct message (`id`: the Chat's), its `text`
    sealed to the recipient's `key` ("" for none; peer/core/sealed_mail.py). Answered with
    an Ack, then a Saved push."""

    id: Id
    sender: str
    token: str
    to: str
    text: str
    key: str = ""


class Saved(WireMessage, frozen=True):
    """Outcome of SaveMessage `reply_to`: delivered, or stored, or `refused` (a sentence for
    the user: the recipient's mailbox is full)."""

    id: Id
    reply_to: Id
    to: str
    delivered: bool
    refused: str


class ChannelPost(WireMessage, frozen=True):
    """`send_all`: relay `text` to every other registered peer."""

    id: Id
    sender: str
    token: str
    text: str


class Relayed(WireMessage, frozen=True):
    """Outcome of ChannelPost or RoomPost `reply_to`: each other member has it, in their
    mailbox or shown. Until it comes the sender keeps the post and asks again now and then
    (the registry dedupes), in case a registry was killed while relaying. Never acked."""

    id: Id
    reply_to: Id


class Restarted(WireMessage, frozen=True):
    """The registry has started again and counts this peer online: what the peer kept
    meanwhile can go now, not at its next keepalive. Never acked (the keepalive makes up
    for it). `registries` as in Welcome (pushed again as they change)."""

    id: Id
    registries: Items[str] = ()


class ChannelMessage(WireMessage, frozen=True):
    """A channel message relayed by the registry; `id` is the original post's id."""

    id: Id
    sender: str
    text: str


# -- rooms and renames --------------------------------------------------------------------


class Join(WireMessage, frozen=True):
    """Enter `room` (created on demand), leaving any other room."""

    id: Id
    name: str
    token: str
    room: str


class Leave(WireMessage, frozen=True):
    """Leave the current room."""

    id: Id
    name: str
    token: str


class RoomPost(WireMessage, frozen=True):
    """Say `text` in `room`, the room it was typed in: refused unless the sender is in it."""

    id: Id
    sender: str
    token: str
    room: str
    text: str


class RoomMessage(WireMessage, frozen=True):
    """A room message relayed to a member; `history` marks replays shown on joining."""

    id: Id
    sender: str
    room: str
    text: str
    stamp: str
    history: bool


class RoomNotice(WireMessage, frozen=True):
    """A line about `room` for its members: joins, leaves, quits, renames."""

    id: Id
    room: str
    text: str


class RoomsRequest(WireMessage, frozen=True):
    """Ask for the list of rooms."""

    id: Id


class RoomList(WireMessage, frozen=True):
    """Answer to RoomsRequest: room names with their member counts, in the same order."""

    id: Id
    reply_to: Id
    rooms: Items[str]
    counts: Items[Int]


class Rename(WireMessage, frozen=True):
    """Change `name` to `new_name`, keeping table entry, mailbox and room."""

    id: Id
    name: str
    token: str
    new_name: str


class Notice(WireMessage, frozen=True):
    """A line from the registry for the user; `quitter`, the name that quit in a quit
    announcement (a peer folds a burst of those into one line), else ""."""

    id: Id
    text: str
    quitter: str = ""


Message = (
    Ack
    | Acks
    | Refused
    | TooBig
    | Busy
    | Register
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
    | DeskMessage
    | FileMessage
)

#: Every message type, by the name it travels under.
MESSAGE_TYPES: dict[str, type[Message]] = types_by_name(Message)

#: Fields a log line never shows: what proves a name is someone's.
SECRET_FIELDS = frozenset({"token", "password"})


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
