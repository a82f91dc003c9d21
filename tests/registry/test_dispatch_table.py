"""Every message type has its place in the registry's dispatch table: handled by a part,
or named here as what no peer sends the registry (logged as ignored)."""

from __future__ import annotations

from typing import get_args

from registry.core.actions import Log
from tests.registry.core_helpers import core
from wire.desk.messages import DeskMessage
from wire.messages import (
    MESSAGE_TYPES,
    Alive,
    Busy,
    ChannelMessage,
    Chat,
    FileMessage,
    MoreMail,
    Notice,
    PasswordChallenge,
    Relayed,
    Restarted,
    RoomList,
    RoomMessage,
    RoomNotice,
    Saved,
    TableSnapshot,
    TableUpdate,
    TooBig,
    Welcome,
)

#: What no peer sends the registry: what the registry sends, what peers send each other,
#: the help desk's messages and files'. A new message type goes here or to a handler.
NOT_FROM_PEERS = frozenset(
    {Welcome, Alive, TooBig, Busy, MoreMail, TableUpdate, TableSnapshot, Saved, Relayed}
    | {PasswordChallenge}
    | {Restarted, ChannelMessage, RoomMessage, RoomNotice, RoomList, Notice, Chat}
    | set(get_args(DeskMessage))
    | set(get_args(FileMessage))
)


def test_every_message_type_is_handled_or_not_from_peers() -> None:
    handled = core().handled
    assert handled.isdisjoint(NOT_FROM_PEERS)
    assert handled | NOT_FROM_PEERS == frozenset(MESSAGE_TYPES.values())


def test_what_no_peer_sends_is_logged_as_ignored() -> None:
    registry = core()
    for message in (Chat("b-1", "bob", "alice", "hi"), Notice("b-2", "x")):
        actions = registry.receive(message, ("127.0.0.1", 6002), 0.0)
        line = f"ignored {type(message).__name__} from 127.0.0.1:6002"
        assert Log(line, "ignored") in actions
