"""What the peer core asks its adapter to do, in order: small frozen msgspec Structs (made
in C, a fifth of a frozen dataclass's time: several are made for every message),
untracked by the collector as messages are (`gc=False`: they hold no cycle)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from msgspec import Struct

from wire.messages import Message

Addr = tuple[str, int]


class SendSealed(Struct, frozen=True, gc=False):
    """Send `message` to `addr` (UDP, or TCP when it does not fit a datagram), sealed for
    `key` (b"": none known, and it is not sent); `stream`: over TCP, the answers fed back
    (it was TooBig)."""

    addr: Addr
    message: Message
    key: bytes
    stream: bool = False


class Print(Struct, frozen=True, gc=False):
    """Show a line to the user. `style` is one of "system", "error", "info", "message",
    "channel", "room", "history"; `who` names the person the line is from, for colouring."""

    text: str
    style: str = "system"
    who: str = ""


class Dated(Print, frozen=True):
    """Show a line of a room's history, "[history <date> <time>] ...": the adapter drops its
    date when that is today, by the time of day as it is shown (`room_membership.as_of`)."""


class Remember(Struct, frozen=True, gc=False):
    """Keep `token` as the proof of owning `name`, for the next start."""

    name: str
    token: str


class Prompt(Struct, frozen=True, gc=False):
    """The input prompt is now `text` (it shows the name, and the room one is in)."""

    text: str


class Shown(Struct, frozen=True, gc=False):
    """Keep, before their lines are printed, that the messages `shown` (sender, id) were
    shown, so that a restarted peer never shows one again."""

    shown: tuple[tuple[str, str], ...]


class Held(Struct, frozen=True, gc=False):
    """Keep `line` of message `key`, held for its sender's `after`, until a Shown names `key`."""

    key: tuple[str, str]
    after: str
    line: Print


class Sending(NamedTuple):
    """A record (`PeerCore.records`), a tuple told from a message at once: keep `message`
    again, durably, so that a power cut does not lose it either (a message held in the
    outbox; a direct message unanswered at its first try, as the save it becomes)."""

    message: Message


#: A record of `PeerCore.records`: a message just typed, kept until it is settled (a peer
#: killed meanwhile sends it on at its next start), a Sending, or the id of a message settled.
Record = Message | Sending | str


class Keep(Struct, frozen=True, gc=False):
    """Keep `text` ("": nothing) as the peer's `what`, for the next start: "room", the room
    it is in; "registries", the service's (shared.kept_registries); "tickets", those others
    handed us (tickets.py)."""

    what: str
    text: str


class ExitPeer(Struct, frozen=True, gc=False):
    """Stop the peer with exit status `code`."""

    code: int


class OnceShown(Struct, frozen=True, gc=False):
    """Carry out `then` once every line printed before it is on the screen (a terminal
    prints in the background): stored messages are recorded as shown only then."""

    then: tuple[Action, ...]


class AskRegistryKey(Struct, frozen=True, gc=False):
    """Ask the registry for its key, in clear: it has been silent, and another key would
    explain it (KeyChecks.key_answered says so)."""


class ForFiles(Struct, frozen=True, gc=False):
    """A file command typed (`verb`, then `args`), for the file transfers (peer/core/files/)."""

    verb: str
    args: str


class FileDatagram(Struct, frozen=True, gc=False):
    """A file transfer's datagram, believed as sealed by `key`, for the file transfers."""

    message: Message
    key: bytes


class PinKey(Struct, frozen=True, gc=False):
    """`name` talked with us under `key`: pin it, saying so if the one pinned was another."""

    name: str
    key: bytes


class KeysListed(Struct, frozen=True, gc=False):
    """The registry's `message` listed names with their keys: say, once, each name we
    talked with before under another key."""

    message: Message


class Rejected(Struct, frozen=True, gc=False):
    """A message was dropped, not believed of the key that sealed it: `line`, in the one
    log of rejections, under `why`."""

    why: str
    line: str


class AcksLater(Struct, frozen=True, gc=False):
    """Ack `replies`, of a datagram of the registry at `addr` sealed by `key`, within a few
    ms, before what is sent there after them (net/outgoing.py)."""

    addr: Addr
    key: bytes
    replies: list[str]


Action = (
    SendSealed
    | Print
    | Dated
    | Remember
    | Prompt
    | Shown
    | Held
    | Keep
    | ExitPeer
    | OnceShown
    | AskRegistryKey
    | ForFiles
    | FileDatagram
    | PinKey
    | KeysListed
    | Rejected
    | AcksLater
)

#: What a core hands each action to, the moment it decides it, in order: a list's `append`,
#: or the adapter's carrier, so that a datagram leaves before the bookkeeping after it.
Emit = Callable[[Action], None]
