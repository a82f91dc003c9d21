"""What the peer core asks its adapter to do, in order.

Each action is a small frozen record. They are msgspec Structs, as the wire's messages are:
several are made for every message sent and shown, and a Struct is made in C, in a fifth of
the time of a frozen dataclass.
"""

from __future__ import annotations

from collections.abc import Callable

from msgspec import Struct

from wire.messages import Message

Addr = tuple[str, int]


class Send(Struct, frozen=True):
    """Send `message` to `addr` (UDP, or TCP when it does not fit a datagram), for the
    public key `key` there: the registry's, or the key of the table's row (b"": none
    known, and it is not sent)."""

    addr: Addr
    message: Message
    key: bytes


class SendStream(Struct, frozen=True):
    """Send `message` to `addr` over TCP, for `key` (as a Send), and feed the answers back
    (after a TooBig)."""

    addr: Addr
    message: Message
    key: bytes


class Print(Struct, frozen=True):
    """Show a line to the user. `style` is one of "system", "error", "info", "message",
    "channel", "room", "history"; `who` names the person the line is from, for colouring."""

    text: str
    style: str = "system"
    who: str = ""


class Remember(Struct, frozen=True):
    """Keep `token` as the proof of owning `name`, for the next start."""

    name: str
    token: str


class Prompt(Struct, frozen=True):
    """The input prompt is now `text` (it shows the name, and the room one is in)."""

    text: str


class Shown(Struct, frozen=True):
    """Keep, before their lines are printed, that the messages `shown` (sender, id) were
    shown, so that a restarted peer never shows one again (it may come back from the
    registry's mailbox)."""

    shown: tuple[tuple[str, str], ...]


class Sending(Struct, frozen=True):
    """A record, not an action (see `PeerCore.records`): `message`, typed by the user, is
    sent for the first time in this event (or waits its turn): keep it until it is
    Settled, so that a peer killed meanwhile sends it on at its next start. The adapter
    writes it once the event's Sends have left: the first copy does not wait for the disk.
    A direct message is kept as the Chat it is sent as; the restart sends it to the
    registry as a save."""

    message: Message


class Settled(Struct, frozen=True):
    """A record, not an action (see Sending): the message `id` needs no keeping any more:
    it was delivered, saved by the registry, or refused and the user told."""

    id: str


class KeepOutbox(Struct, frozen=True):
    """The outbox is now `messages`: keep them, so a restarted peer still sends them."""

    messages: tuple[Message, ...]


class KeepRoom(Struct, frozen=True):
    """The room this peer is in is now `room` ("" for none): keep it, so that the next start
    goes back to it."""

    room: str


class Exit(Struct, frozen=True):
    """Stop the peer with exit status `code`."""

    code: int


class OnceShown(Struct, frozen=True):
    """Carry out `then` once every line printed before it is on the screen, not merely on
    its way there: a terminal prints in the background. Stored messages are recorded as
    shown, and their mailbox emptied, only then: a peer killed while printing them gets
    them again at its next start rather than never."""

    then: tuple[Action, ...]


class AskRegistryKey(Struct, frozen=True):
    """Ask the registry for its key, in clear: it has been silent, and a key other than the
    one pinned (a new registry, or someone else at its address) would explain it. The
    adapter says so if it is (KeyChecks.key_answered)."""


class ForFiles(Struct, frozen=True):
    """A file command typed (`verb`, then `args`), for the file transfers (peer/core/files/)."""

    verb: str
    args: str


class FileDatagram(Struct, frozen=True):
    """A file transfer's datagram, believed as sealed by `key`, for the file transfers."""

    message: Message
    key: bytes


class PinKey(Struct, frozen=True):
    """`name` talked with us under `key` (a direct chat sealed by it): pin it, as SSH pins
    a host, and say so if the key pinned for `name` was another."""

    name: str
    key: bytes


class KeysListed(Struct, frozen=True):
    """The registry's `message` listed names with their keys (a Welcome, a TableUpdate, a
    TableSnapshot): say, once, each name we talked with before under another key."""

    message: Message


class Rejected(Struct, frozen=True):
    """A message was dropped, not believed of the key that sealed it: `line`, in the one
    log of rejections, under `why`."""

    why: str
    line: str


class AcksHeld(Struct, frozen=True):
    """Acks to the registry are held (peer.core.inbox): once all that woke the peer is
    taken in, call PeerCore.read_ended, which sends them. Said as the first is held."""


Action = (
    Send
    | SendStream
    | Print
    | Remember
    | Prompt
    | Shown
    | KeepOutbox
    | KeepRoom
    | Exit
    | OnceShown
    | AskRegistryKey
    | ForFiles
    | FileDatagram
    | PinKey
    | KeysListed
    | Rejected
    | AcksHeld
)

#: What a core hands each action to, the moment it decides it, in the order they are to be
#: carried out: a list's `append` collects them (what the core's entry points return); the
#: adapter's method that carries one out (PeerNode._carry_out) carries each out at once, so
#: that the datagram a user waits for leaves before the bookkeeping that follows its
#: decision.
Emit = Callable[[Action], None]
