"""DirectChats: direct messages sent, acked, retried, kept in order, and handed to the
registry when their recipient does not answer; direct messages received."""

from __future__ import annotations

from peer.core import actions as pa
from peer.core.actions import Sending
from peer.core.direct import NO_ACK, RECEIVED_BY, DirectChats
from peer.core.files.transfers import FileTransfers
from peer.core.shared import NO_USER
from tests.peer.parts_kit import (
    BOB,
    BOB_KEY,
    ME,
    REGISTRY_KEY,
    SERVER,
    T0,
    inbox,
    link,
    prints,
    sent,
    shared,
)
from wire.keys import key_text
from wire.limits import MAX_TEXT
from wire.messages import (
    NO_REASON,
    VERSION_REFUSAL,
    Ack,
    Chat,
    Entry,
    Refused,
    SaveMessage,
    TableUpdate,
)
from wire.refusals import unknown_name
from wire.reliable import ATTEMPTS, DIRECT_TIMEOUT


def chats() -> tuple[DirectChats, list[pa.Action]]:
    made = shared()
    return DirectChats(made, link(made), DIRECT_TIMEOUT, ATTEMPTS), []


def test_a_message_to_someone_online_goes_to_them_then_is_kept_until_settled() -> None:
    made, out = shared(), list[pa.Action]()
    direct = DirectChats(made, link(made), DIRECT_TIMEOUT, ATTEMPTS)
    direct.send("bob", "hi", T0, out.append)
    chat = Chat("a-1", "alice", "bob", "hi")
    # the datagram, then its key pinned the first time this run; its record kept
    assert out == [pa.SendSealed(BOB, chat, BOB_KEY), pa.PinKey("bob", BOB_KEY)]
    assert made.settling.records == [chat]
    assert direct.awaiting_ack("a-1") and made.trust.owed


def test_a_key_already_talked_with_this_run_is_not_pinned_again() -> None:
    made, out = shared(), list[pa.Action]()
    direct = DirectChats(made, link(made), DIRECT_TIMEOUT, ATTEMPTS)
    made.trust.talked["bob"] = BOB_KEY  # (as the adapter records a pin checked)
    direct.send("bob", "hi", T0, out.append)
    assert [type(a) for a in out] == [pa.SendSealed]


def test_an_ack_says_received_and_ends_the_wait() -> None:
    direct, out = chats()
    direct.send("bob", "hi", T0, out.append)
    assert direct.chat_answered(Ack("b-1", "a-1"), BOB, T0, out.append)
    assert prints(out) == [RECEIVED_BY.format("bob")]
    assert not direct.awaiting_ack("a-1")
    assert not direct.chat_answered(Ack("b-2", "a-1"), BOB, T0, out.append)  # a copy: not ours now


def test_a_message_to_someone_offline_or_unknown_goes_to_the_registry_or_nowhere() -> None:
    direct, out = chats()
    direct.send("carol", "later", T0, out.append)
    assert sent(out) == [SaveMessage("a-1", "alice", "tok", "carol", "later")]
    out.clear()
    direct.send("dave", "hi", T0, out.append)
    assert prints(out) == [NO_USER.format("dave", "who")]
    direct.send("bob", "x" * (MAX_TEXT + 1), T0, out.append)
    assert prints(out)[-1].startswith("[Message too long:")


def test_a_name_nobody_has_is_said_in_the_same_words_for_a_message_a_file_and_the_registry() -> (
    None
):
    direct, out = chats()
    direct.send("dave", "hi", T0, out.append)
    files: list[object] = []
    FileTransfers(own=lambda: "alice", entry=lambda name: None, new_id=str, downloads="").typed(
        "file", "dave report.pdf", T0, files.append
    )
    assert prints(out) == [a.text for a in files if isinstance(a, pa.Print)]
    assert unknown_name("dave") in prints(out)[0]


def test_no_ack_after_every_try_sends_it_to_the_registry() -> None:
    direct, out = chats()
    direct.send("bob", "hi", T0, out.append)
    out.clear()
    for n in range(1, ATTEMPTS + 1):
        direct.tick(T0 + n * DIRECT_TIMEOUT, out.append)
    assert sent(out)[: ATTEMPTS - 1] == [Chat("a-1", "alice", "bob", "hi")] * (ATTEMPTS - 1)
    assert NO_ACK.format("bob") in prints(out)
    assert sent(out)[-1] == SaveMessage("a-1", "alice", "tok", "bob", "hi")
    assert not direct.awaiting_ack("a-1")  # the registry's now


def test_a_save_carries_the_time_of_day_its_message_was_typed_not_when_it_was_saved() -> None:
    made, out = shared(), list[pa.Action]()
    made.wall_offset = lambda: 1_700_000_000.0  # the time of day minus the core's `now`
    direct = DirectChats(made, link(made), DIRECT_TIMEOUT, ATTEMPTS)
    direct.send("bob", "hi", T0, out.append)  # online: tried directly first
    for n in range(1, ATTEMPTS + 1):
        direct.tick(T0 + n * DIRECT_TIMEOUT, out.append)
    direct.send("carol", "later", T0 + 9, out.append)  # offline: saved at once
    saves = [m for m in sent(out) if isinstance(m, SaveMessage)]
    assert [s.typed for s in saves] == [int(1_700_000_000.0 + T0), int(1_700_000_000.0 + T0 + 9)]
    # kept durably at the first retry, as a restart's outbox sends it, with the same time
    kept = [r.message for r in made.settling.records if isinstance(r, Sending)]
    assert [m.typed for m in kept if isinstance(m, SaveMessage)] == [int(1_700_000_000.0 + T0)]


def test_a_peer_of_another_version_refusing_it_sends_it_to_the_registry() -> None:
    direct, out = chats()
    direct.send("bob", "hi", T0, out.append)
    out.clear()
    refusal = Refused("b-1", "a-1", VERSION_REFUSAL)
    assert direct.chat_answered(refusal, BOB, T0, out.append)
    assert "another version of ChatApp" in prints(out)[0]
    assert sent(out) == [SaveMessage("a-1", "alice", "tok", "bob", "hi")]


def test_a_message_names_the_one_before_it_to_the_same_person_until_that_one_is_acked() -> None:
    direct, out = chats()
    direct.send("bob", "x" * (MAX_TEXT - 10), T0, out.append)  # over TCP: slower
    direct.send("bob", "short", T0, out.append)  # sent at once, after it
    direct.send("carol", "elsewhere", T0, out.append)  # to someone else: after none
    assert [(m.id, m.after) for m in sent(out)] == [("a-1", ""), ("a-2", "a-1"), ("a-3", "")]
    direct.chat_answered(Ack("b-1", "a-2"), BOB, T0, out.append)
    direct.send("bob", "more", T0, out.append)
    assert sent(out)[-1] == Chat("a-4", "alice", "bob", "more", after="a-1")  # a-1 is not acked
    for acked in ("a-1", "a-4"):
        direct.chat_answered(Ack("b-2", acked), BOB, T0, out.append)
    direct.send("bob", "alone", T0, out.append)
    assert sent(out)[-1] == Chat("a-5", "alice", "bob", "alone")  # every one before is acked


def test_a_message_received_is_shown_once_and_every_copy_acked() -> None:
    made = shared()
    owner = inbox(made)
    direct, out = DirectChats(made, link(made), DIRECT_TIMEOUT, ATTEMPTS), []
    chat = Chat("b-7", "bob", "alice", "hello")
    for _ in range(2):  # two datagrams, each an event whose end sends the acks owed
        direct.incoming(chat, BOB, 0.0, out.append)
        owner.taken(BOB, BOB_KEY, False, [], out.append)
    assert prints(out) == ["bob: hello"]
    assert sent(out) == [Ack("a-1", "b-7"), Ack("a-2", "b-7")]


def test_a_message_not_for_us_is_not_answered() -> None:
    direct, out = chats()
    # for whoever had the address before us
    direct.incoming(Chat("b-1", "bob", "carol", "hi"), BOB, 0.0, out.append)
    direct.incoming(Chat("b-3", "bob", "alice", "via registry"), SERVER, 0.0, out.append)
    assert prints(out) == ["bob: via registry"]


def test_a_message_the_registry_delivers_not_for_us_is_refused_so_it_keeps_it() -> None:
    direct, out = chats()
    # not dropped unanswered, as from a peer: the registry would push it again and again
    direct.delivered(Chat("r-1", "bob", "carol", "hi"), SERVER, 0.0, out.append)
    [refused] = [a for a in out if isinstance(a, pa.SendSealed)]
    assert refused.addr == SERVER and refused.key == REGISTRY_KEY
    assert isinstance(refused.message, Refused) and refused.message.reply_to == "r-1"
    assert "carol" in refused.message.reason and prints(out) == []
    direct.delivered(Chat("r-2", "bob", "alice", "for us"), SERVER, 0.0, out.append)
    assert prints(out) == ["bob: for us"]


def test_a_message_to_our_new_name_before_our_rename_is_answered_is_ours() -> None:
    made, out = shared(), list[pa.Action]()
    direct = DirectChats(made, link(made), DIRECT_TIMEOUT, ATTEMPTS)
    # the table says alice is alicia now; the answer to our /nick is still on its way
    made.table.apply(
        TableUpdate("u-1", 4, (Entry("alice", "", 0, False), Entry("alicia", *ME, True))), ""
    )
    direct.delivered(Chat("r-3", "bob", "alicia", "hi alicia"), SERVER, 0.0, out.append)
    assert prints(out) == ["bob: hi alicia"] and not [
        a for a in sent(out) if isinstance(a, Refused)
    ]


def test_a_message_from_an_address_other_than_the_tables_is_shown_and_acked_there() -> None:
    # Its key said who sent it (peer.core.table, before the core): the address is only where to
    # answer, and a sender's address in our table may be older than the one it sends from.
    made = shared()
    owner = inbox(made)
    direct, out = DirectChats(made, link(made), DIRECT_TIMEOUT, ATTEMPTS), []
    moved = ("10.0.0.9", 6002)
    direct.incoming(Chat("b-2", "bob", "alice", "hi from elsewhere"), moved, 0.0, out.append)
    owner.taken(moved, BOB_KEY, False, [], out.append)
    assert prints(out) == ["bob: hi from elsewhere"]
    assert [a.addr for a in out if isinstance(a, pa.SendSealed)] == [moved]


def test_a_message_to_someone_away_says_so_once_until_the_mark_changes() -> None:
    made, out = shared(), list[pa.Action]()
    direct = DirectChats(made, link(made), DIRECT_TIMEOUT, ATTEMPTS)

    def bob_away(text: str, version: int) -> None:
        bob = Entry("bob", *BOB, True, key_text(BOB_KEY), text)
        made.table.replace(version, (Entry("alice", *ME, True), bob), ())

    bob_away("at lunch", 4)
    for text in ("hi", "still there?"):
        direct.send("bob", text, T0, out.append)
    assert prints(out) == ["[bob is away: at lunch]"]
    assert [m.text for m in sent(out) if isinstance(m, Chat)] == ["hi", "still there?"]
    bob_away(NO_REASON, 5)
    direct.send("bob", "back yet?", T0, out.append)
    bob_away("", 6)
    direct.send("bob", "there you are", T0, out.append)
    assert prints(out) == ["[bob is away: at lunch]", "[bob is away.]"]
