"""Every message type has its place in each of the peer's tables: a rule of trust and a
handler, or never sent to a peer; an answer taken by its request's taker, or where it is
handled; what a key other than the registry's may say is what its rule says."""

from __future__ import annotations

import enum
import typing
from typing import Any

import pytest

from peer.core.dispatch import PeerCore
from peer.core.table import HOLD, NEVER_SENT, Owed, Rule
from registry.core.dispatch import RegistryCore
from tests.peer.honest import REGISTRY_KEY
from tests.peer.parts_kit import ME, SERVER
from wire.messages import (
    FILE_DATAGRAMS,
    MESSAGE_TYPES,
    Ack,
    Acks,
    Chat,
    PasswordAsk,
    Refused,
    TableRequest,
)
from wire.reliable import Retransmitter

EVERY_TYPE = frozenset(MESSAGE_TYPES.values())


def owed(chat: Chat, key: bytes) -> Owed:
    """A chat owed its answer by `key`, as DirectChats makes it."""
    return chat, key


def core() -> PeerCore:
    return PeerCore(name="alice", port=ME[1], server=SERVER, session="a", registry_key=REGISTRY_KEY)


def received() -> Any:
    return core().received


#: Which key may send each type: the peer's table of trust.
RULES = core().trust.rules


def test_every_message_type_is_handled_or_never_sent_a_peer() -> None:
    handled, never_sent = set(received().from_registry), EVERY_TYPE - set(RULES)
    assert handled.isdisjoint(never_sent)
    assert handled | never_sent | set(FILE_DATAGRAMS) == EVERY_TYPE


def test_what_a_rule_of_trust_lets_in_is_handled_or_for_the_file_transfers() -> None:
    assert set(RULES) - set(FILE_DATAGRAMS) == set(received().from_registry)


def test_every_request_a_peer_sends_the_registry_has_its_answer_taken() -> None:
    # the requests: what the registry's dispatch handles, but for the answers
    core = RegistryCore(session="r", new_token=lambda: "t" * 32)
    requests = core.handled - {Ack, Acks, Refused}
    core = PeerCore(name="alice", port=ME[1], server=SERVER, session="a")
    taken = set(core.parts.ends.takers)
    taken_as_handled = {TableRequest}  # its answer, a whole table, is handled as it comes
    # asked before the core starts, its answer taken by the adapter (the password stays
    # there: peer/adapter/key_checks.py)
    taken_by_the_adapter = {PasswordAsk}
    assert taken.isdisjoint(taken_as_handled | taken_by_the_adapter)
    assert taken | taken_as_handled | taken_by_the_adapter == requests


def _blank(tp: Any) -> Any:
    """The plainest value of a field type: "", 0, False, b"", (), an enum's first member,
    a record of such values."""
    if typing.get_origin(tp) is tuple:
        return ()
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return next(iter(tp))
    if hasattr(tp, "_fields"):  # a record (a named tuple)
        hints = typing.get_type_hints(tp)
        return tp(*(_blank(hints[name]) for name in tp._fields))
    return tp()


def blank(cls: type[Any]) -> Any:
    hints = typing.get_type_hints(cls)
    return cls(**{name: _blank(hints[name]) for name in cls.__struct_fields__})


@pytest.mark.parametrize("cls", sorted(EVERY_TYPE, key=lambda c: c.__name__))
def test_trust_lets_a_peers_key_say_only_what_any_key_may_send(cls: type[Any]) -> None:
    trust = core().trust
    sent = Retransmitter[Owed]()
    trust.owed = sent.waiting  # the answers below answer chats owed by another key
    for chat_id in ("", "a-1"):
        sent.start(chat_id, owed(Chat(chat_id, "me", "bob", "hi"), b"o" * 32), 0.0)
    message = Acks("b-1", ("a-1",)) if cls is Acks else blank(cls)  # (an empty Acks acks nothing)
    assert trust.believed(message, b"p" * 32, ("10.0.0.9", 9), 0.0, [].append) is None
    trust.tick(HOLD, [].append)  # (what waited for a row that never came: refused now)
    expected = RULES[cls].value if cls in RULES else NEVER_SENT
    assert trust.why == expected
    assert (trust.why == Rule.REGISTRY.value) is (RULES.get(cls) is Rule.REGISTRY)
