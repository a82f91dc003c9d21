"""What a peer believes, by the key that sent it."""

from __future__ import annotations

from peer.core.actions import PinKey, Rejected
from peer.core.dispatch import PeerCore
from peer.core.table import HOLD, Owed, Rule, Trust
from wire.keys import key_text
from wire.messages import Ack, Acks, Chat, Entry, Message, Notice, TableUpdate
from wire.reliable import ATTEMPTS, DIRECT_TIMEOUT, Retransmitter

REGISTRY, ALICE, BOB, MALLORY = b"r" * 32, b"a" * 32, b"b" * 32, b"m" * 32
ROWS = {
    "alice": Entry("alice", "10.0.0.1", 1, True, key_text(ALICE)),
    "bob": Entry("bob", "10.0.0.2", 2, True, key_text(BOB)),
}


def owed(chat: Chat, key: bytes) -> Owed:
    """A chat owed its answer by `key`, as DirectChats makes it."""
    return chat, key


def trust() -> Trust:
    """A Trust over ROWS, with the rules a peer core gives it."""
    made = Trust(REGISTRY, ROWS.get)
    made.rules = PeerCore(name="me", port=1, server=("127.0.0.1", 2), session="t").trust.rules
    return made


def believed(t: Trust, message: Message, key: bytes) -> Message | None:
    """What `t` believes of `message`, sealed by `key` (what it says of it left aside)."""
    return t.believed(message, key, ("10.0.0.9", 9), 0.0, [].append)


def test_the_registry_is_believed_in_everything() -> None:
    t = trust()
    update = TableUpdate("u", 2, ())
    assert believed(t, update, REGISTRY) is update
    assert believed(t, Notice("n", "hi"), REGISTRY) is not None


def test_registry_messages_from_any_other_key_are_dropped() -> None:
    t = trust()
    assert believed(t, TableUpdate("u", 2, ()), MALLORY) is None
    assert believed(t, Notice("n", "hi"), ALICE) is None
    assert sum(t.dropped.values()) == 2


def test_a_chat_is_believed_only_from_its_senders_key() -> None:
    t = trust()
    chat = Chat("c", "alice", "bob", "hi")
    assert believed(t, chat, ALICE) is chat
    assert believed(t, chat, MALLORY) is None
    assert believed(t, Chat("c", "carol", "bob", "hi"), MALLORY) is None  # no such row


def test_an_ack_counts_only_from_the_key_it_was_owed_by() -> None:
    t = trust()
    sent = Retransmitter[Owed]()
    t.owed = sent.waiting  # (as DirectChats gives it its chats awaiting answers)
    sent.start("me-1", owed(Chat("me-1", "alice", "bob", "hi"), BOB), 0.0)
    sent.start("me-2", owed(Chat("me-2", "alice", "bob", "again"), BOB), 0.0)
    assert believed(t, Ack("x", "me-1"), MALLORY) is None
    assert t.dropped[Rule.OWED.value] == 1
    assert believed(t, Ack("x", "me-1"), BOB) is not None
    acks = Acks("x", ("me-1", "me-2", "other"))
    assert believed(t, acks, BOB) == acks
    assert believed(t, acks, MALLORY) == Acks("x", ("other",))
    assert believed(t, Acks("x", ("me-1",)), MALLORY) is None


def test_an_answer_to_no_chat_awaited_is_let_through_unsaid_as_it_does_nothing() -> None:
    t = trust()
    sent = Retransmitter[Owed]()
    t.owed = sent.waiting
    sent.start("me-1", owed(Chat("me-1", "alice", "bob", "hi"), BOB), 0.0)
    sent.answer("me-1")  # acked: a copy of its ack may still come, from anyone
    for key in (BOB, MALLORY):
        assert believed(t, Ack("x", "me-1"), key) is not None
    assert not t.dropped


def test_a_chat_asks_for_its_senders_key_to_be_pinned_the_first_time_this_run() -> None:
    t, said = trust(), list[object]()
    chat = Chat("c", "alice", "bob", "hi")
    assert t.believed(chat, ALICE, ("10.0.0.1", 1), 0.0, said.append) is chat
    assert said == [PinKey("alice", ALICE)]
    t.talked["alice"] = ALICE  # (as the adapter records a pin checked)
    said.clear()
    assert t.believed(chat, ALICE, ("10.0.0.1", 1), 0.0, said.append) is chat and said == []
    assert t.believed(chat, MALLORY, ("10.0.0.7", 7), 0.0, said.append) is None
    assert said == [] and t.held  # until a row vouches for its key, or HOLD passes
    t.tick(HOLD, said.append)
    assert said == [
        Rejected(Rule.SENDER.value, f"dropped Chat from 10.0.0.7:7: {Rule.SENDER.value}")
    ]


def test_each_copy_holds_a_chat_anew_through_its_senders_round_however_many_tries() -> None:
    t, said = trust(), list[object]()
    chat = Chat("c", "carol", "bob", "hi")  # carol's row is on its way
    tries = 3 * ATTEMPTS  # a sender that tries more than we would
    for n in range(tries):
        now = n * DIRECT_TIMEOUT
        t.tick(now, said.append)
        assert t.believed(chat, MALLORY, ("10.0.0.7", 7), now, said.append) is None
    assert said == [] and t.held  # never refused while its sender still tries
    last = (tries - 1) * DIRECT_TIMEOUT
    t.tick(last + HOLD - 0.01, said.append)
    assert said == []
    t.tick(last + HOLD, said.append)
    assert len(said) == 1 and not t.held


def test_a_chat_is_held_a_few_waits_past_its_last_copy_not_a_whole_round() -> None:
    t, said = trust(), list[object]()
    t.believed(Chat("c", "carol", "bob", "hi"), MALLORY, ("10.0.0.7", 7), 0.0, said.append)
    t.tick(HOLD + 0.01, said.append)  # its sender gave up: the registry brings it
    assert len(said) == 1 and not t.held
