"""What the parts of the peer core share (`Shared`), one of each per peer; and what a part
does for another, as the small interface the other is given (PeerCore wires them). Each part
owns its own state beside it."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from typing import Protocol

from peer.core.actions import Addr, Emit, Held, Keep, Print
from peer.core.change_lines import ChangeLines
from peer.core.inbox import Inbox
from peer.core.lifecycle import Event, Lifecycle
from peer.core.requests import Requests
from peer.core.room_return import RoomReturn
from peer.core.settling import Settling
from peer.core.table import TableCopy, Trust
from secure.tickets import plausible, ticket
from wire.base import IdMaker
from wire.limits import MAX_TEXT
from wire.messages import (
    Chat,
    Deregister,
    Join,
    Refused,
    Register,
    Rename,
    RoomPost,
    SaveMessage,
    Welcome,
    address,
)
from wire.reliable import Alarm
from wire.version import WIRE_VERSION

#: Said of a name nobody has, in the same words wherever it is typed (a file sent too).
NO_USER = "[No one is called {}. {} lists every name.]"
NO_LONGER_IN = "[You are no longer in {}.]"
#: Said when the input ended before the first Welcome and the registration was sent again.
QUITTING_LATER = Print("[Quitting once the registry has answered; Ctrl-C quits at once.]", "system")


def not_carried_out(lines: Iterable[str | None], why: str, emit: Emit) -> None:
    """Say each line of `lines` that is not blank was not carried out, as `why`."""
    for text in lines:
        if text is not None and text.strip():
            emit(Print(f"[Not carried out, as {why}: {text}]", "error"))


#: Tickets kept of others' mailboxes, and keys ours is made for, at most (the oldest dropped).
TICKETS_KEPT = 1000


class Tickets:
    """Mailbox tickets (secure/tickets.py): ours, handed with a direct message to each key we
    write to, until one such message is acked (once a run, and again for a new secret); and
    those others handed us, by the key of the mailbox's owner, shown with our saves for that
    mailbox, so that the registry keeps us a place in it. Our `secret` (from the Welcome: ""
    none yet) and the tickets `held`, by owner's key."""

    def __init__(self, held: Mapping[str, str] | None = None) -> None:
        self.secret = ""
        #: others' tickets, by their mailbox owner's key, the latest handed last
        self.held: dict[str, str] = dict(list((held or {}).items())[-TICKETS_KEPT:])
        self._made: dict[str, str] = {}  # our ticket for each key written to lately
        #: keys that acked a message carrying ours (read-only outside)
        self.handed: set[str] = set()

    def learn(self, secret: str) -> None:
        """The registry gave us `secret`: a new one is handed again to everyone."""
        if secret != self.secret:
            self.secret = secret
            self._made.clear()
            self.handed.clear()

    def to_hand(self, key: str) -> str:
        """Our ticket for a direct message to `key` ("": none, or handed already; a caller
        on the way of every message asks only with a `secret` and `key` not `handed`)."""
        if not self.secret or key in self.handed:
            return ""
        made = self._made.get(key)
        if made is None:
            made = ticket(self.secret, key)
            if len(self._made) >= TICKETS_KEPT:
                del self._made[next(iter(self._made))]
            self._made[key] = made
        return made

    def acked(self, key: str, given: str) -> None:
        """`key` acked a message carrying `given`: not handed again this run, if ours for it."""
        if given and self._made.get(key) == given:
            self.handed.add(key)

    def keep_handed(self, owner: str, given: str, emit: Emit) -> None:
        """The owner of key `owner` handed us `given`: kept (Keep) when new."""
        if self.held.get(owner) == given or not owner or not plausible(given):
            return
        self.held.pop(owner, None)
        self.held[owner] = given
        if len(self.held) > TICKETS_KEPT:
            del self.held[next(iter(self.held))]
        emit(Keep("tickets", json.dumps(self.held)))

    def for_owner(self, owner: str) -> str:
        """The ticket the owner of key `owner` handed us ("": none)."""
        return self.held.get(owner, "")


@dataclass(eq=False)
class PeerState:
    """Who the peer is: its name and token, the room it is in, its lifecycle, and the names
    it had before a rename."""

    name: str
    port: int
    token: str = ""
    #: what proves the name's password (wire.messages.Register's `proof`, `verifier`): set
    #: by the adapter before the first registration; the password never reaches the core
    proof: str = ""
    verifier: str = ""
    #: set by the adapter: a proof refused at the first registration is asked again (a
    #: terminal, tries left), not left to a new start; set by the core when that happened
    password_asked_again: bool = False
    password_refused: bool = False
    room: str = ""
    life: Lifecycle = field(default_factory=Lifecycle, repr=False)
    #: keys of the names this peer had before a rename (a chat to one is still ours)
    former: set[str] = field(default_factory=set, repr=False)


@dataclass(eq=False)
class Shared:
    """The state the parts of one peer core share (each part keeps its own besides)."""

    state: PeerState
    new_id: IdMaker
    table: TableCopy
    #: What the user sent and is not known delivered, in the order typed, and its outbox.
    settling: Settling
    requests: Requests
    room_return: RoomReturn
    #: The (sender, id) pairs shown in earlier runs, oldest first, and lines held (`inbox`).
    shown: InitVar[Iterable[tuple[str, str] | Held]] = ()
    #: Typed lines that cannot be carried out yet, in the order typed (None: the end of
    #: input): waiting for the first Welcome, or for a change on its way (TypedInput._changing).
    early_lines: list[str | None] = field(default_factory=list)
    lines_after_change: deque[str | None] = field(default_factory=deque)
    #: Parts told of the next line carried out (its text, `now`, the actions), then dropped.
    line_watchers: list[Callable[[str, float, Emit], None]] = field(default_factory=list)
    #: The service's registries (Welcome, Alive), where the peer may move to; and those
    #: tried since one last answered.
    registries: tuple[Addr, ...] = ()
    tried: set[Addr] = field(default_factory=set)
    #: When the core is next to be woken, or before: lowered to each deadline armed.
    alarm: Alarm = field(default_factory=Alarm)
    #: Our mailbox tickets, and those others handed us (Tickets, above).
    tickets: Tickets = field(default_factory=Tickets)
    #: How others' changes are said.
    change_lines: ChangeLines = field(init=False)
    #: What came in: each message shown once, each copy acked (peer.core.inbox).
    inbox: Inbox = field(init=False)
    #: Seconds from the core's monotonic `now` to the time of day (the adapter's, read as
    #: a save is made: a clock stepped, or a host asleep, moves it); None: not known.
    wall_offset: Callable[[], float] | None = None

    def __post_init__(self, shown: Iterable[tuple[str, str] | Held]) -> None:
        #: Who may say what (peer.core.table), judged by the key that sealed each message.
        self.trust = Trust(b"", self.table.entry, self.alarm)
        self.requests.trust = self.trust  # what it sends is sealed for the registry's key
        #: The peer's lifecycle (the PeerState's), at hand: asked for every message.
        self.life: Lifecycle = self.state.life
        self.change_lines = ChangeLines(self.table, lambda: self.state.name, self.alarm)
        self.inbox = Inbox(self.life, self.new_id, shown, alarm=self.alarm)

    def learn_registries(self, registries: Sequence[str], emit: Emit) -> None:
        """The service's registries ("ip:port" each; what is not one is left out), kept."""
        known = self.registries
        self.registries = tuple(addr for text in registries if (addr := address(text)))
        if self.registries != known:
            emit(kept_registries(self.registries, self.trust.registry))

    def go_offline(self, event: Event, emit: Emit, left: str = NO_LONGER_IN) -> None:
        """Registered no more, by `event`: no keepalives, and out of the room, said as `left`."""
        self.life.fire(event)
        self.requests.offline()
        if self.state.room:
            emit(Print(left.format(self.state.room), "system"))
            self.state.room = ""

    def typed(self, command: str) -> str:
        """`command` (its words, say "who" or "reg alice") as a hint shows it, as the user
        types it where they are: with its / in a room, where a bare word is said there."""
        return f"/{command}" if self.state.room else command

    def no_user(self, name: str) -> Print:
        """What is said of `name` when the table has no such name (send, message, whois)."""
        return Print(NO_USER.format(name, self.typed("who")), "error")

    def register_message(self) -> Register:
        state = self.state
        return Register(
            self.new_id(),
            state.name,
            state.port,
            state.token,
            state.proof,
            WIRE_VERSION,
            state.verifier,
        )

    def deregister_message(self, farewell: str | None = None) -> Deregister:
        """Our Deregister; a quit's with a `farewell` ("" for none), a `dereg`'s without."""
        state = self.state
        quitting = farewell is not None
        return Deregister(self.new_id(), state.name, state.token, quitting, farewell or "")

    def join_message(self, room: str) -> Join:
        return Join(self.new_id(), self.state.name, self.state.token, room)

    def save_of(self, chat: Chat, typed: float | None = None) -> SaveMessage:
        """`chat` as the save it becomes at the registry, under the name it was sent as
        (though we renamed since), so that a recipient knows it for the same message; with
        when it was `typed` (the core's `now`), as the time of day, when both are known."""
        offset = self.wall_offset
        wall = int(typed + offset()) if typed is not None and offset is not None else 0
        return SaveMessage(
            chat.id, chat.sender, self.state.token, chat.to, chat.text, after=chat.after, typed=wall
        )


def kept_registries(registries: tuple[Addr, ...], key: bytes) -> Keep:
    """The service's `registries`, of the registry key `key`, as kept (none: nothing): the
    key in hex, then a registry a line (peer/adapter/state.py reads them)."""
    lines = [key.hex(), *(f"{ip}:{port}" for ip, port in registries)]
    return Keep("registries", "\n".join(lines) if registries else "")


def text_ok(text: str, emit: Emit) -> bool:
    """Whether `text` fits a message; if not, said."""
    size = len(text.encode())
    if size > MAX_TEXT:
        emit(Print(f"[Message too long: {size} bytes, at most {MAX_TEXT}. Not sent.]", "error"))
        return False
    return True


def renames_asked(requests: Requests) -> list[Rename]:
    """Renames we asked for that are on their way, or were given up on lately."""
    return [m for m in requests.messages(given_up=True) if isinstance(m, Rename)]


def name_released(shared: Shared, emit: Emit) -> None:
    """The registry's console released our name: said, and offline (the next keepalive
    must not take it back unseen)."""
    name = shared.state.name
    line = (
        f"[The registry released the name {name}: you are offline. "
        f"Type reg {name} to register it again.]"
    )
    emit(Print(line, "error"))  # first the cause, then what follows
    shared.go_offline(Event.RELEASED, emit)


class Chats(Protocol):
    """The direct messages sent (peer/core/direct.py)."""

    def send(self, to: str, text: str, now: float, emit: Emit) -> None: ...
    def awaiting_ack(self, msg_id: str) -> bool: ...
    def save_of(self, chat: Chat) -> SaveMessage: ...


class OurRoom(Protocol):
    """The room this peer is in (peer/core/room_membership.py)."""

    def rejoin_refused(self, join: Join, refusal: Refused, now: float, emit: Emit) -> None: ...
    def post_refused(self, post: RoomPost, refusal: Refused, now: float, emit: Emit) -> None: ...


class WelcomeTable(Protocol):
    """The registry's table as it comes (peer/core/table_news.py)."""

    def welcome_table(self, welcome: Welcome, now: float, emit: Emit) -> None: ...


class Goodbyes(Protocol):
    """How the peer leaves (peer/core/leaving.py)."""

    def replaced(self, refusal: Refused, emit: Emit) -> None: ...
    def unheard(self, dereg: Deregister, emit: Emit) -> None: ...
    def never_started(self, emit: Emit) -> None: ...
