"""Builds the parts of a peer core one at a time, for their unit tests: the shared state
of alice (port 6001, token "tok"), with bob online and carol offline in the table once
`registered`, and recorders for the calls a part makes back to the core."""

from __future__ import annotations

from peer.core import actions as pa
from peer.core.direct import DirectChats
from peer.core.inbox import Inbox
from peer.core.lifecycle import Event
from peer.core.registry_link import RegistryLink
from peer.core.requests import Requests
from peer.core.room_return import RoomReturn
from peer.core.settling import Settling
from peer.core.shared import PeerState, Shared
from peer.core.table import TableCopy
from peer.core.typed_commands import Commands
from wire.base import IdMaker
from wire.keys import key_text
from wire.messages import Entry, Message
from wire.reliable import ATTEMPTS, DIRECT_TIMEOUT, Alarm

SERVER = ("127.0.0.1", 5000)
#: The registry's key, as pinned, and bob's, as the table has it: what is sent is for them.
REGISTRY_KEY, BOB_KEY = b"r" * 32, b"b" * 32
ME = ("127.0.0.1", 6001)
BOB = ("127.0.0.1", 6002)
T0 = 1_700_000_000.0


def shared(*, registered: bool = True, outbox: tuple[Message, ...] = (), room: str = "") -> Shared:
    """Alice's shared state; `registered`: welcomed, with bob online and carol offline."""
    kept = Settling(outbox)
    alarm = Alarm()
    made = Shared(
        state=PeerState("alice", ME[1], "tok"),
        new_id=IdMaker("a"),
        table=TableCopy(),
        settling=kept,
        requests=Requests(SERVER, kept, alarm=alarm),
        room_return=RoomReturn(kept, room),
        alarm=alarm,
    )
    made.trust.registry = REGISTRY_KEY
    if registered:
        made.life.fire(Event.WELCOME)
        entries = (
            Entry("alice", *ME, True),
            Entry("bob", *BOB, True, key_text(BOB_KEY)),
            Entry("carol", "127.0.0.1", 6003, False),
        )
        made.table.replace(3, entries, ())
        made.change_lines.table_replaced(lambda action: None)  # said with the Welcome
    return made


def link(made: Shared) -> RegistryLink:
    return RegistryLink(made)


def commands(made: Shared) -> Commands:
    """The Commands part over `made`, with its registry link and direct messages."""
    registry = link(made)
    return Commands(made, registry, DirectChats(made, registry, DIRECT_TIMEOUT, ATTEMPTS))


def inbox(made: Shared) -> Inbox:
    return made.inbox


def prints(actions: list[pa.Action]) -> list[str]:
    return [a.text for a in actions if isinstance(a, pa.Print)]


def sent(actions: list[pa.Action]) -> list[Message]:
    return [a.message for a in actions if isinstance(a, pa.SendSealed)]


def logged(records: list[pa.Record]) -> tuple[Message, ...]:
    """What the sending log holds after `records`, read back as the next start reads it
    (peer/adapter/state.py: a record again keeps its place; a settled id drops it)."""
    held: dict[str, Message] = {}
    for record in records:
        if isinstance(record, str):
            held.pop(record, None)
        else:
            message = record.message if isinstance(record, pa.Sending) else record
            held[message.id] = message
    return tuple(held.values())
