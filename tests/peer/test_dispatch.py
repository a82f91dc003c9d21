"""The two dispatchers: Received (each message, believed, to its part) and TypedInput
(each line carried out, held, or refused), over a PeerCore's parts; and the one place the
core believes or drops what arrives, by the key that sealed it (peer.core.table)."""

from __future__ import annotations

import pytest

from peer.core import actions as pa
from peer.core.change_lines import TABLE_UPDATED
from peer.core.direct import RECEIVED_BY
from peer.core.dispatch import PeerCore
from peer.core.table import HELD, HOLD, NEVER_SENT, Rule
from tests.peer.honest import REGISTRY_KEY, peer_key, peer_key_text
from tests.peer.parts_kit import ME, SERVER, T0, prints, sent
from wire.messages import (
    VERSION_REFUSAL,
    Ack,
    Chat,
    Entry,
    FileOffer,
    Join,
    Notice,
    Refused,
    Register,
    TableRequest,
    TableUpdate,
    TooBig,
    Welcome,
)
from wire.refusals import RefusalCode

ELSEWHERE = ("10.0.0.9", 5000)
#: A peer on the registry's machine: its IP address, another port.
BESIDE = (SERVER[0], 6002)


#: Keys of peers: bob's (in the table), mallory's (none of its rows).
BOB_KEY, MALLORY = peer_key("bob"), peer_key("mallory")


def registered() -> PeerCore:
    core = PeerCore(name="alice", port=ME[1], server=SERVER, session="a", registry_key=REGISTRY_KEY)
    [register] = sent(core.start(T0))
    assert isinstance(register, Register)
    rows = (Entry("alice", *ME, True), Entry("bob", *BESIDE, True, peer_key_text("bob")))
    welcome = Welcome("r-1", register.id, "alice", "tok", 3, rows, (), ())
    core.receive(welcome, SERVER, REGISTRY_KEY, T0)
    return core


def rejected(out: list[pa.Action]) -> list[str]:
    return [a.why for a in out if isinstance(a, pa.Rejected)]


@pytest.mark.parametrize("addr", [SERVER, (SERVER[0], 40000), ELSEWHERE, BESIDE])
@pytest.mark.parametrize("key", [BOB_KEY, MALLORY])
def test_what_only_the_registry_sends_sealed_by_another_key_is_dropped_and_said(
    addr: tuple[str, int], key: bytes
) -> None:
    # from the registry's very address (or its IP) too: the key says who sent it
    core = registered()
    update = TableUpdate("r-2", 4, (Entry("bob", "10.0.0.66", 6666, True, peer_key_text("bob")),))
    out = core.receive_all([update, Notice("r-3", "x", "")], addr, key, T0)
    assert rejected(out) == [Rule.REGISTRY.value] * 2 and prints(out) == [] and sent(out) == []
    assert core.table.entry("bob").port == BESIDE[1]
    assert core.trust.dropped[Rule.REGISTRY.value] == 2


def test_the_registrys_key_is_believed_from_any_address_and_is_the_service() -> None:
    core, out = registered(), list[pa.Action]()
    update = TableUpdate("r-2", 4, (Entry("dave", "127.0.0.1", 6004, True),))
    out = core.receive(update, ELSEWHERE, REGISTRY_KEY, T0 + 3)
    assert sent(out) == [] and "dave" in core.table
    assert pa.AcksLater(ELSEWHERE, REGISTRY_KEY, ["r-2"]) in out  # acked where it came from
    assert core.parts.shared.requests.heard_at == T0 + 3  # heard from


def test_a_chat_sealed_by_another_key_than_its_senders_is_held_then_dropped_and_said() -> None:
    core = registered()
    for key in (MALLORY, REGISTRY_KEY[:16] * 2):
        out = core.receive(Chat("m-1", "bob", "alice", "it is me, bob"), BESIDE, key, T0)
        assert out == []  # held: a row may yet vouch for its key (none will)
    assert core.alarm.at is not None and core.alarm.at <= T0 + HOLD  # woken by then
    out = core.tick(T0 + HOLD)
    assert rejected(out) == [Rule.SENDER.value] * 2 and prints(out) == [] and sent(out) == []
    out = core.receive(Chat("b-1", "bob", "alice", "hi"), BESIDE, BOB_KEY, T0)
    assert prints(out) == ["bob: hi"] and pa.PinKey("bob", BOB_KEY) in out


def test_a_chat_that_overtook_its_senders_row_is_taken_when_the_row_comes() -> None:
    # carol has just registered: her first chat can come before the update with her row
    core, carol = registered(), ("10.0.0.3", 6003)
    chat = Chat("c-1", "carol", "alice", "hi")
    assert core.receive(chat, carol, peer_key("carol"), T0) == []
    row = Entry("carol", *carol, True, peer_key_text("carol"))
    out = core.receive(TableUpdate("r-2", 4, (row,)), SERVER, REGISTRY_KEY, T0 + 0.05)
    assert prints(out) == [TABLE_UPDATED, "[carol is online]", "carol: hi"]
    assert pa.SendSealed(carol, Ack("a-2", "c-1"), peer_key("carol")) in out
    assert not core.trust.held and rejected(out) == []
    # a chat no row vouches for waits no further for it
    assert core.receive(Chat("m-1", "carol", "alice", "me"), carol, MALLORY, T0 + 1) == []
    out = core.receive(TableUpdate("r-3", 5, ()), SERVER, REGISTRY_KEY, T0 + 2)
    assert prints(out) == [] and core.trust.held
    assert rejected(core.tick(T0 + 1 + HOLD)) == [Rule.SENDER.value] and not core.trust.held


def test_at_most_held_chats_wait_the_oldest_refused_beyond() -> None:
    core = registered()
    for n in range(HELD):
        assert core.receive(Chat(f"m-{n}", "nobody", "alice", "x"), BESIDE, MALLORY, T0) == []
    out = core.receive(Chat("m-last", "nobody", "alice", "x"), BESIDE, MALLORY, T0)
    assert rejected(out) == [Rule.SENDER.value] and len(core.trust.held) == HELD
    assert (MALLORY, "m-0") not in core.trust.held


def test_an_ack_counts_only_from_the_key_its_chat_was_sent_to() -> None:
    core = registered()
    [chat] = sent(core.line("send bob hi", T0))
    assert rejected(core.receive(Ack("m-1", chat.id), BESIDE, MALLORY, T0)) == [Rule.OWED.value]
    assert core.parts.direct.awaiting_ack(chat.id)
    refusal = Refused("m-2", chat.id, VERSION_REFUSAL, RefusalCode.VERSION)
    assert rejected(core.receive(refusal, BESIDE, MALLORY, T0)) == [Rule.OWED.value]
    # a peer answers a chat by an ack, which always fits a datagram: never by TooBig
    assert rejected(core.receive(TooBig("b-0", chat.id), BESIDE, BOB_KEY, T0)) == [
        Rule.REGISTRY.value
    ]
    assert core.parts.direct.awaiting_ack(chat.id)
    assert prints(core.receive(Ack("b-1", chat.id), BESIDE, BOB_KEY, T0)) == [
        RECEIVED_BY.format("bob")
    ]
    assert not core.parts.direct.awaiting_ack(chat.id)
    # a late copy of its ack, from any key, does nothing and is not said
    for key in (BOB_KEY, MALLORY):
        assert core.receive(Ack("b-2", chat.id), BESIDE, key, T0 + 1) == []


def test_a_message_a_peer_is_never_sent_is_dropped_even_from_the_registrys_key() -> None:
    core = registered()
    out = core.receive(TableRequest("x-1"), SERVER, REGISTRY_KEY, T0)
    assert rejected(out) == [NEVER_SENT]


def test_a_file_datagram_from_its_senders_key_is_for_the_file_transfers() -> None:
    core = registered()
    offer = FileOffer("f-1", "bob", "t-1", "a.txt", 3, "")
    assert core.receive(offer, BESIDE, BOB_KEY, T0) == [pa.FileDatagram(offer, BOB_KEY)]
    assert core.receive(offer, BESIDE, MALLORY, T0) == []  # held, as a chat is
    assert rejected(core.tick(T0 + HOLD)) == [Rule.SENDER.value]


def test_what_a_peer_sends_is_handled_without_counting_as_the_registry_heard() -> None:
    # A chat or an ack from a peer, even one on the registry's machine, says nothing of the
    # registry: it is handled, and the registry stays silent; anything from the registry's
    # address tells that it is heard from.
    core, out = registered(), list[pa.Action]()
    heard_at = core.parts.shared.requests.heard_at
    bob = peer_key("bob")
    core.receive(Chat("b-1", "bob", "alice", "hi"), BESIDE, bob, T0 + 5, out.append)
    core.receive(Ack("b-2", "a-9"), BESIDE, bob, T0 + 5, out.append)
    assert core.parts.shared.requests.heard_at == heard_at
    assert "bob: hi" in prints(out) and Ack("a-2", "b-1") in sent(out)
    core.receive(Ack("r-9", "a-9"), SERVER, REGISTRY_KEY, T0 + 6, out.append)
    assert core.parts.shared.requests.heard_at == T0 + 6


def test_lines_wait_for_the_welcome_then_for_a_change_on_its_way() -> None:
    core = PeerCore(name="alice", port=ME[1], server=SERVER, session="a", registry_key=REGISTRY_KEY)
    out: list[pa.Action] = []
    core.line("who", T0, out.append)
    assert prints(out) == [] and sent(out) == [] and core.parts.shared.early_lines == ["who"]
    core = registered()
    core.line("join lobby", T0, out.append)
    core.line("who", T0, out.append)  # is it room text? the join's answer says
    assert [type(m) for m in sent(out)] == [Join] and list(
        core.parts.shared.lines_after_change
    ) == ["who"]


def test_lines_are_refused_while_quitting_and_said_offline_when_offline() -> None:
    core, out = registered(), list[pa.Action]()
    core.line("send_all hello", T0, out.append)  # unanswered: the quit waits for it
    core.line("/quit bye", T0, out.append)
    core.line("send bob hi", T0, out.append)
    assert prints(out)[-1] == "[Not carried out, as you are quitting: send bob hi]"
    core = registered()
    core.line("dereg alice", T0, out.append)
    dereg = sent(out)[-1]
    core.receive(Ack("r-9", dereg.id), SERVER, REGISTRY_KEY, T0)
    out = []
    core.line("who", T0, out.append)
    assert prints(out) == ["[You are offline. Type reg alice to come back, or /quit.]"]
