"""PeerCore as a whole, direct messages: acked, retried, handed to the registry."""

from __future__ import annotations

from peer.core import actions as pa
from peer.core.direct import NO_ACK, RECEIVED_BY
from tests.peer.core_kit import (
    BOB,
    BOBS,
    DIRECT_ROUND,
    SERVER,
    T0,
    prints,
    registered,
    run_until,
    sent,
)
from tests.peer.honest import REGISTRY_KEY, honest_key
from wire.messages import (
    VERSION_REFUSAL,
    Ack,
    Acks,
    Chat,
    Entry,
    Refused,
    SaveMessage,
    TableUpdate,
)
from wire.reliable import DIRECT_TIMEOUT


def test_direct_message_ack_and_the_no_ack_fallback() -> None:
    core, _ = registered()
    [chat] = sent(core.line("send bob hello", T0))
    assert isinstance(chat, Chat) and chat.to == "bob"
    assert prints(
        core.receive(Ack("b-1", chat.id), BOB, honest_key(core, Ack("b-1", chat.id), BOB), T0 + 0.1)
    ) == [RECEIVED_BY.format("bob")]
    [chat2] = sent(core.line("send bob anyone?", T0 + 1))
    out = run_until(core, T0 + 1 + DIRECT_ROUND + 0.1)
    assert prints(out) == [NO_ACK.format("bob")]
    saves = [m for m in sent(out) if isinstance(m, SaveMessage)]
    assert saves[0].id == chat2.id and saves[0].to == "bob"  # type: ignore[attr-defined]


def test_a_direct_message_goes_5_times_500_ms_apart_then_to_the_registry() -> None:
    """The guide's promise, in numbers (not read from the constants it is made of)."""
    core, _ = registered()
    [chat] = sent(core.line("send bob anyone?", T0))
    copies, saved = [0.0], list[float]()
    while (wake := core.next_wake()) is not None and wake <= T0 + 4:
        for message in sent(core.tick(wake)):
            if isinstance(message, Chat) and message.id == chat.id:  # type: ignore[attr-defined]
                copies.append(round(wake - T0, 3))
            elif isinstance(message, SaveMessage):
                saved.append(round(wake - T0, 3))
    assert copies == [0.0, 0.5, 1.0, 1.5, 2.0] and saved[0] == 2.5  # (then as any request)


def test_a_direct_message_another_version_cannot_read_goes_to_the_server_at_once() -> None:
    core, _ = registered()
    [chat] = sent(core.line("send bob hello from the future", T0))
    refusal = Refused("b-1", chat.id, VERSION_REFUSAL)  # type: ignore[attr-defined]
    out = core.receive(refusal, BOB, honest_key(core, refusal, BOB), T0 + 0.01)
    assert prints(out) == [
        "[bob runs another version of ChatApp and could not read your message; "
        "message sent to server.]"
    ]
    [save] = sent(out)
    assert isinstance(save, SaveMessage) and (save.id, save.to) == (chat.id, "bob")
    # no retries to bob after that, and no "No ACK" later
    assert [m for m in sent(run_until(core, T0 + 3.6)) if isinstance(m, Chat)] == []


def test_a_direct_message_unanswered_after_its_first_try_is_kept_durably_until_answered() -> None:
    core, _ = registered()
    [chat] = sent(core.line("send bob are you there?", T0))
    assert core.records == [chat]  # kept through a kill, not a power cut
    core.records.clear()
    run_until(core, T0 + DIRECT_TIMEOUT - 0.1)
    assert core.records == []  # answered at once, it would cost no write to disk
    run_until(core, T0 + DIRECT_TIMEOUT + 0.1)
    run_until(core, T0 + 2 * DIRECT_TIMEOUT + 0.1)
    # the first retry, once: kept durably as the save it becomes
    [record] = core.records
    save = record.message  # type: ignore[union-attr]
    assert isinstance(record, pa.Sending) and isinstance(save, SaveMessage)
    assert (save.id, save.to, save.text) == (chat.id, "bob", "are you there?")
    assert save.token == core.state.token
    core.records.clear()
    ack = Ack("b-1", chat.id)
    core.receive(ack, BOB, honest_key(core, ack, BOB), T0 + 2 * DIRECT_TIMEOUT + 0.2)
    assert core.records == [chat.id]


def test_a_direct_message_given_up_stays_kept_until_the_registry_takes_its_save() -> None:
    core, _ = registered()
    [chat] = sent(core.line("send bob are you there?", T0))
    run_until(core, T0 + DIRECT_TIMEOUT + 0.1)
    out = run_until(core, T0 + DIRECT_ROUND + 0.1)  # no answer from bob: saved at the registry
    [save] = [m for m in sent(out) if isinstance(m, SaveMessage)]
    assert save.id == chat.id  # type: ignore[attr-defined]
    assert core.records == [chat, pa.Sending(save)]
    core.records.clear()
    core.receive(Ack("r-9", save.id), SERVER, REGISTRY_KEY, T0 + DIRECT_ROUND + 0.2)
    assert core.records == []  # accepted, not yet stored: still kept, as the same save


def test_one_acks_confirms_every_direct_message_it_lists() -> None:
    core, _ = registered()
    chats = [sent(core.line(f"send bob hello {i}", T0))[0] for i in range(3)]
    out = core.receive(
        Acks("b-1", tuple(c.id for c in chats[:2])),
        BOB,
        honest_key(core, Acks("b-1", tuple(c.id for c in chats[:2])), BOB),
        T0 + 0.1,
    )  # type: ignore[attr-defined]
    assert prints(out) == [RECEIVED_BY.format("bob")] * 2
    out = run_until(core, T0 + DIRECT_ROUND + 0.1)
    assert prints(out) == [NO_ACK.format("bob")]  # only the third


def test_offline_recipient_goes_straight_to_the_registry() -> None:
    core, _ = registered()
    [save] = sent(core.line("send carol later", T0))
    assert isinstance(save, SaveMessage) and save.to == "carol"


def test_a_chat_is_answered_where_it_came_from_whatever_the_tables_address() -> None:
    # Who sent a chat is settled by its key before the core sees it (peer.core.table, tested in
    # tests/peer/test_trust.py); the address is only where its ack goes.
    core, _ = registered()
    moved = ("10.0.0.66", 6002)
    out = core.receive(
        Chat("f-1", "bob", "alice", "from a new address"),
        moved,
        honest_key(core, Chat("f-1", "bob", "alice", "from a new address"), moved),
        T0,
    )
    assert prints(out) == ["bob: from a new address"]
    assert [a.addr for a in out if isinstance(a, pa.SendSealed)] == [moved]
    # the registry delivering bob's message itself is fine too
    assert prints(
        core.receive(Chat("b-7", "bob", "alice", "via registry"), SERVER, REGISTRY_KEY, T0)
    )


def test_a_chat_sent_under_a_name_just_renamed_is_shown_and_acked() -> None:
    """bob sends, then becomes robert; his message arrives after the table says so. It is
    still his (the table row at his address follows the rename), so it is shown and acked
    rather than left to time out and fall back to the registry."""
    core, _ = registered()
    elsewhere = ("10.0.0.2", 6002)  # another machine than the registry's
    core.receive(
        TableUpdate("r-4", 4, (Entry("bob", *elsewhere, True, BOBS),)), SERVER, REGISTRY_KEY, T0
    )
    # (a rename keeps the key)
    rename = (Entry("bob", elsewhere[0], 0, False, BOBS), Entry("robert", *elsewhere, True, BOBS))
    core.receive(TableUpdate("r-5", 5, rename), SERVER, REGISTRY_KEY, T0)
    out = core.receive(
        Chat("b-8", "bob", "alice", "sent before the rename"),
        elsewhere,
        honest_key(core, Chat("b-8", "bob", "alice", "sent before the rename"), elsewhere),
        T0,
    )
    assert prints(out) == ["bob: sent before the rename"]
    assert [m.reply_to for m in sent(out) if isinstance(m, Ack)] == ["b-8"]
