"""PeerCore as a whole, what comes in: each message shown once, each copy acked."""

from __future__ import annotations

from peer.core import actions as pa
from tests.peer.core_kit import (
    BOB,
    SERVER,
    T0,
    prints,
    registered,
    sent,
)
from tests.peer.honest import REGISTRY_KEY, honest_key, peer_key
from wire.messages import (
    Ack,
    ChannelMessage,
    Chat,
    RoomMessage,
)


def test_every_copy_is_acked_but_shown_once() -> None:
    core, _ = registered()
    chat = Chat("b-1", "bob", "alice", "hi: there ☃")
    first = core.receive(chat, BOB, honest_key(core, chat, BOB), T0)
    second = core.receive(chat, BOB, honest_key(core, chat, BOB), T0 + 1)
    assert prints(first) == ["bob: hi: there ☃"] and prints(second) == []
    assert [type(m) for m in sent(first) + sent(second)] == [Ack, Ack]


def test_a_direct_messages_ack_leaves_after_its_record_and_before_its_line() -> None:
    """Its sender waits on the ack, not on our screen; what was shown is recorded first."""
    core, _ = registered()
    chats = [Chat("b-1", "bob", "alice", "one"), Chat("b-2", "bob", "alice", "two")]
    out = core.receive_all(chats, BOB, honest_key(core, chats, BOB), T0)
    kinds = [type(a) for a in out if isinstance(a, pa.Shown | pa.SendSealed | pa.Print)]
    assert kinds == [pa.Shown, pa.SendSealed, pa.Print, pa.Print]  # both recorded in one write
    assert pa.Shown((("bob", "b-1"), ("bob", "b-2"))) in out
    assert prints(out) == ["bob: one", "bob: two"]


def test_a_registry_datagram_of_room_and_channel_lines_is_recorded_in_one_shown_first() -> None:
    """One datagram, one write of what it shows first, before any of its lines; one Acks."""
    core, _ = registered()
    lines = [
        RoomMessage("r-1", "bob", "den", "hi", "", False),
        ChannelMessage("c-1", "bob", "all"),
        RoomMessage("r-1", "bob", "den", "hi", "", False),  # a copy: acked, not shown
        RoomMessage("r-2", "bob", "den", "bye", "", False),
    ]
    out = core.receive_all(lines, SERVER, REGISTRY_KEY, T0)
    kinds = [type(a) for a in out if isinstance(a, pa.Shown | pa.Print | pa.AcksLater)]
    assert kinds == [pa.Shown, pa.Print, pa.Print, pa.Print, pa.AcksLater]
    assert pa.Shown((("bob", "r-1"), ("bob", "c-1"), ("bob", "r-2"))) in out
    assert prints(out) == ["bob (in den): hi", "[Channel_Message bob: all]", "bob (in den): bye"]
    assert pa.AcksLater(SERVER, REGISTRY_KEY, ["r-1", "c-1", "r-1", "r-2"]) in out


def test_a_deregistered_peer_answers_nothing() -> None:
    core, _ = registered()
    [dereg] = sent(core.line("dereg alice", T0))
    core.receive(Ack("r-2", dereg.id), SERVER, REGISTRY_KEY, T0)  # type: ignore[attr-defined]
    assert (
        core.receive(
            Chat("b-2", "bob", "alice", "hello?"),
            BOB,
            honest_key(core, Chat("b-2", "bob", "alice", "hello?"), BOB),
            T0,
        )
        == [pa.PinKey("bob", peer_key("bob"))]  # (its key is still bob's: pinned, not answered)
    )
    assert "offline" in prints(core.line("send bob hi", T0))[0]
