"""Every message type has its place in the registry's dispatch table: handled by a part,
or named as what no peer sends the registry (logged as ignored)."""

from __future__ import annotations

from registry.core.actions import Log
from registry.core.dispatch import NOT_FROM_PEERS
from tests.registry.core_helpers import core
from wire.messages import MESSAGE_TYPES, Chat, Notice


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
