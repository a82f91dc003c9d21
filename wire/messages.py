"""The closed set of ChatApp messages.

Every message is a frozen dataclass with an `id` unique per sender. Replies name the
request they answer in `reply_to`. The same types travel in both directions and over both
transports (UDP datagrams and length-prefixed TCP frames); only the framing differs.

Fields use "" for "none" (no token, no password) so that every field has one JSON type.
`MESSAGE_TYPES` is the complete set; the codec refuses any other type name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import NamedTuple

from wire.desk.messages import DeskMessage

# -- records carried inside messages ------------------------------------------------------
#
# Records are named tuples, not dataclasses: they arrive by the thousand (a table of 500
# rows to each of 500 peers as they join), and a tuple is built from a decoded JSON array
# in one step and written back as one by the JSON encoder itself, at a third of the cost.


class Entry(NamedTuple):
    """One row of the registry's table: a name, where it listens, whether it is online, and
    its owner's public key (unpadded URL-safe base64; "" for a row of no key).

    In a TableUpdate, port 0 means the name was released and the row is to be removed.
    """

    name: str
    ip: str
    port: int
    online: bool
    key: str = ""


class Alias(NamedTuple):
    """A name given up by a rename a moment ago (the registry's RENAME_GRACE), and the name
    it leads to now: a peer that never saw the rename (it started since) can still reach
    the one who renamed under the name it knows."""

    old: str
    new: str


#: The `kind` of a StoredMessage that is a line of the registry's own, not a message.
NOTICE_KIND = "notice"

#: The reason of the Refused that answers a room request from a peer the registry counts
#: as offline: one it gave up on, as it was silent too long, says so to come back.
OFFLINE_REFUSAL = "You are offline."

#: How the reason of the Refused begins that answers a request signed with a name's token
#: from a start of the peer other than the one that holds the name now (it was stopped
#: while another start took the name over). The reason goes on with the name and the
#: address of that other start: "... holds the name alice, at 10.0.0.5:6001."
REPLACED_REFUSAL = "Another start of ChatApp now holds the name"
#: How it begins when that other start has gone offline since (see `replaced_refusal`).
REPLACED_GONE_REFUSAL = "Another start of ChatApp took the name"


def replaced_refusal(name: str, where: str, *, online: bool, deregistered: bool) -> str:
    """The reason of the Refused that tells a start it was replaced by the start of `name`
    at `where`, true whatever that start did since: it holds the name (`online`), or it
    went offline with a dereg or a quit (`deregistered`), or else as it stopped answering."""
    if online:
        return f"{REPLACED_REFUSAL} {name}, at {where}."
    why = "it deregistered" if deregistered else "it stopped answering"
    return f"{REPLACED_GONE_REFUSAL} {name} over, at {where}, and has since gone offline ({why})."


def is_replaced_refusal(reason: str) -> bool:
    """Whether `reason` is one `replaced_refusal` makes."""
    return reason.startswith((REPLACED_REFUSAL, REPLACED_GONE_REFUSAL))


def unknown_name(name: str) -> str:
    """The reason of the Refused that answers a request made for (or to) `name`, a name
    the registry does not know. Made for the peer's own name, it means the name was
    released on the registry's console (or lost with its data): the peer says that first."""
    return f"No user named {name}."


class StoredMessage(NamedTuple):
    """A message kept in a mailbox: `kind` is "direct" or "channel", or "notice" for a line of
    the registry's own (sender ""); `stamp`: when it was saved."""

    id: str
    sender: str
    text: str
    stamp: str
    kind: str


# -- replies ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ack:
    """The request or push `reply_to` arrived and was handled."""

    id: str
    reply_to: str


@dataclass(frozen=True, slots=True)
class Acks:
    """Several requests or pushes, `replies`, arrived and were handled: one answer for the
    messages that shared a datagram (or a pass of the sender's event loop), so a burst of
    pushes costs one ack datagram, not one per message. Means exactly what an Ack for each
    of `replies` would mean."""

    id: str
    replies: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Refused:
    """The request `reply_to` was refused; `reason` is a sentence for the user."""

    id: str
    reply_to: str
    reason: str


def version_refusal(kind: str) -> str:
    """The reason of the Refused that answers a `kind` request this version cannot read (its
    fields are another version's): what its sender's user is shown."""
    return (
        f"ChatApp versions differ: your {kind} could not be read here. "
        "Use the same version of ChatApp on every machine."
    )


@dataclass(frozen=True, slots=True)
class TooBig:
    """The answer to `reply_to` does not fit a datagram: ask again over TCP (like DNS's TC bit)."""

    id: str
    reply_to: str


@dataclass(frozen=True, slots=True)
class Busy:
    """The registry is too far behind to answer `reply_to` (a registration) now: send it
    again in `wait_ms` milliseconds. Said instead of an answer in a join storm, so that a
    peer waits rather than gives up while the registry catches up."""

    id: str
    reply_to: str
    wait_ms: int


# -- registration and the table -----------------------------------------------------------


def is_token(text: str) -> bool:
    """Whether `text` has the shape of a token: 32 lowercase hex digits (128 random bits),
    what `secrets.token_hex(16)` makes."""
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)


@dataclass(frozen=True, slots=True)
class Register:
    """Take `name` (first registration, `reg`, or a restart): `port` is the peer's client port.

    `token` is the secret from an earlier Welcome. The first time it is one the peer made
    and kept before asking (`is_token`), which a new record takes: should the answer be
    lost, or come after the peer gave up, the name is still its own at the next start.
    `password` is optional. `wire` is the sender's `wire.version.WIRE_VERSION`: the
    registry refuses another.
    """

    id: str
    name: str
    port: int
    token: str
    password: str
    wire: str


@dataclass(frozen=True, slots=True)
class Welcome:
    """Registration accepted: the token, the whole table, and the mailbox being handed over,
    or its first part when it is too big for one message (MoreMail brings the rest)."""

    id: str
    reply_to: str
    name: str
    token: str
    version: int
    entries: tuple[Entry, ...]
    mail: tuple[StoredMessage, ...]
    aliases: tuple[Alias, ...]


@dataclass(frozen=True, slots=True)
class MailTaken:
    """The peer has shown the stored messages `ids`: the registry may delete them now."""

    id: str
    name: str
    token: str
    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MoreMail:
    """Answer to MailTaken while the mailbox holds more: its next part, in the order the
    messages were saved. (With nothing left, the answer is an Ack.)"""

    id: str
    reply_to: str
    mail: tuple[StoredMessage, ...]


@dataclass(frozen=True, slots=True)
class Deregister:
    """`name` goes offline: `dereg`, or `/quit` (`quitting`, with an optional `farewell`)."""

    id: str
    name: str
    token: str
    quitting: bool
    farewell: str


@dataclass(frozen=True, slots=True)
class Keepalive:
    """`name` is still here; answered with Alive carrying the table version."""

    id: str
    name: str
    token: str


@dataclass(frozen=True, slots=True)
class Alive:
    """Answer to Keepalive: the registry's current table version, to spot missed changes."""

    id: str
    reply_to: str
    version: int


@dataclass(frozen=True, slots=True)
class TableUpdate:
    """Pushed to online peers: the rows that changed to make table version `version`."""

    id: str
    version: int
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class TableRequest:
    """Ask for the whole table (a peer that missed a change)."""

    id: str


@dataclass(frozen=True, slots=True)
class TableSnapshot:
    """The whole table at `version`, with the names recently given up by renames; a reply to
    TableRequest, or pushed after Saved(delivered)."""

    id: str
    reply_to: str
    version: int
    entries: tuple[Entry, ...]
    aliases: tuple[Alias, ...]


# -- messages -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chat:
    """A direct message from `sender` to `to`, sent by the sender or delivered by the registry."""

    id: str
    sender: str
    to: str
    text: str


@dataclass(frozen=True, slots=True)
class SaveMessage:
    """Ask the registry to deliver or store a direct message; `id` is the Chat's own id.
    `text` is sealed to the recipient's `key` (peer/sealed_mail.py; "" for one that is not).

    Answered at once with Ack (accepted), then with a Saved push carrying the outcome.
    """

    id: str
    sender: str
    token: str
    to: str
    text: str
    key: str = ""


@dataclass(frozen=True, slots=True)
class Saved:
    """Outcome of SaveMessage `reply_to`: delivered by the registry itself, or stored on disk,
    or, with `refused` (a sentence for the user), neither: the recipient's mailbox is full."""

    id: str
    reply_to: str
    to: str
    delivered: bool
    refused: str


@dataclass(frozen=True, slots=True)
class ChannelPost:
    """`send_all`: relay `text` to every other registered peer."""

    id: str
    sender: str
    token: str
    text: str


@dataclass(frozen=True, slots=True)
class Relayed:
    """Outcome of ChannelPost or RoomPost `reply_to`: every other member has it, or it
    waits in their mailbox, or is gone. The post's Ack says only that the registry has it;
    until this comes, the sender keeps the post and asks again now and then (the registry
    dedupes), so that a registry killed while relaying, which forgets the relay, relays it
    again. Sent once and not acked: asking again is what makes up for a lost one."""

    id: str
    reply_to: str


@dataclass(frozen=True, slots=True)
class Restarted:
    """The registry has started again, with a table that counts the peer it is sent to
    online: what that peer kept while the registry was away (its outbox, posts awaiting
    their outcome) can go now, not at its next keepalive, which backs off to minutes while
    the registry is away. Sent once and not acked: a peer that misses it finds the registry
    back at its next keepalive, as before."""

    id: str


@dataclass(frozen=True, slots=True)
class ChannelMessage:
    """A channel message relayed by the registry; `id` is the original post's id."""

    id: str
    sender: str
    text: str


# -- rooms and renames --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Join:
    """Enter `room` (created on demand), leaving any other room."""

    id: str
    name: str
    token: str
    room: str


@dataclass(frozen=True, slots=True)
class Leave:
    """Leave the current room."""

    id: str
    name: str
    token: str


@dataclass(frozen=True, slots=True)
class RoomPost:
    """Say `text` in `room`, the room the sender typed it in: refused unless the sender is
    in that room (a line kept while the registry was away never lands in another room)."""

    id: str
    sender: str
    token: str
    room: str
    text: str


@dataclass(frozen=True, slots=True)
class RoomMessage:
    """A room message relayed to a member; `history` marks replays shown on joining."""

    id: str
    sender: str
    room: str
    text: str
    stamp: str
    history: bool


@dataclass(frozen=True, slots=True)
class RoomNotice:
    """A line about `room` for its members: joins, leaves, quits, renames."""

    id: str
    room: str
    text: str


@dataclass(frozen=True, slots=True)
class RoomsRequest:
    """Ask for the list of rooms."""

    id: str


@dataclass(frozen=True, slots=True)
class RoomList:
    """Answer to RoomsRequest: room names with their member counts, in the same order."""

    id: str
    reply_to: str
    rooms: tuple[str, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Rename:
    """Change `name` to `new_name`, keeping table entry, mailbox and room."""

    id: str
    name: str
    token: str
    new_name: str


@dataclass(frozen=True, slots=True)
class Notice:
    """A line from the registry for the user (a quit announcement, a flood warning).
    `quitter` is the name that quit when it is a quit announcement, else "": a peer folds
    a burst of those into one line."""

    id: str
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
)

#: Every message type, by the name it travels under.
MESSAGE_TYPES: dict[str, type[Message]] = {
    cls.__name__: cls
    for cls in (
        Ack,
        Acks,
        Refused,
        TooBig,
        Busy,
        Register,
        Welcome,
        MailTaken,
        MoreMail,
        Deregister,
        Keepalive,
        Alive,
        TableUpdate,
        TableRequest,
        TableSnapshot,
        Chat,
        SaveMessage,
        Saved,
        ChannelPost,
        Relayed,
        Restarted,
        ChannelMessage,
        Join,
        Leave,
        RoomPost,
        RoomMessage,
        RoomNotice,
        RoomsRequest,
        RoomList,
        Rename,
        Notice,
    )
}

#: Records that appear inside messages.
RECORD_TYPES: dict[str, type[Entry] | type[StoredMessage] | type[Alias]] = {
    "Entry": Entry,
    "StoredMessage": StoredMessage,
    "Alias": Alias,
}

from wire.desk.messages import DESK_TYPES  # noqa: E402  (desk messages join the closed set)

MESSAGE_TYPES.update(DESK_TYPES)


#: Fields a log line never shows: what proves a name is someone's.
SECRET_FIELDS = frozenset({"token", "password"})


def for_log(message: object) -> str:
    """`message` as a verbose log line shows it: its fields, with tokens and passwords
    replaced by "…", so that a log or a transcript gives no one a name's proof."""
    if not dataclasses.is_dataclass(message) or isinstance(message, type):
        return repr(message)
    fields = []
    for field in dataclasses.fields(message):
        value = getattr(message, field.name)
        hidden = field.name in SECRET_FIELDS and value
        fields.append(f"{field.name}={'…' if hidden else repr(value)}")
    return f"{type(message).__name__}({', '.join(fields)})"
