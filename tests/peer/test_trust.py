"""What a peer believes, by the key that sent it."""

from __future__ import annotations

from peer.core.trust import Trust
from wire.keys import key_text
from wire.messages import Ack, Acks, Chat, Entry, Notice, TableUpdate

REGISTRY, ALICE, BOB, MALLORY = b"r" * 32, b"a" * 32, b"b" * 32, b"m" * 32
ROWS = {
    "alice": Entry("alice", "10.0.0.1", 1, True, key_text(ALICE)),
    "bob": Entry("bob", "10.0.0.2", 2, True, key_text(BOB)),
}


def trust() -> Trust:
    return Trust(REGISTRY, ROWS.get)


def test_the_registry_is_believed_in_everything() -> None:
    t = trust()
    update = TableUpdate("u", 2, ())
    assert t.believed(update, REGISTRY) is update
    assert t.believed(Notice("n", "hi"), REGISTRY) is not None


def test_registry_messages_from_any_other_key_are_dropped() -> None:
    t = trust()
    assert t.believed(TableUpdate("u", 2, ()), MALLORY) is None
    assert t.believed(Notice("n", "hi"), ALICE) is None
    assert sum(t.dropped.values()) == 2


def test_a_chat_is_believed_only_from_its_senders_key() -> None:
    t = trust()
    chat = Chat("c", "alice", "bob", "hi")
    assert t.believed(chat, ALICE) is chat
    assert t.believed(chat, MALLORY) is None
    assert t.believed(Chat("c", "carol", "bob", "hi"), MALLORY) is None  # no such row


def test_an_ack_counts_only_from_the_key_it_was_owed_by() -> None:
    t = trust()
    t.sent(Chat("me-1", "alice", "bob", "hi"), BOB)
    t.sent(Chat("me-2", "alice", "bob", "again"), BOB)
    assert t.believed(Ack("x", "me-1"), MALLORY) is None
    assert t.believed(Ack("x", "me-1"), BOB) is not None
    assert t.believed(Acks("x", ("me-1", "me-2", "other")), BOB) == Acks("x", ("me-1", "me-2"))
    assert t.believed(Acks("x", ("other",)), BOB) is None
