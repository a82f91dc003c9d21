"""PeerCore as a whole, our requests refused, or answered late."""

from __future__ import annotations

import pytest

from peer.core.dispatch import PeerCore
from peer.core.leaving import OFFLINE_BYE
from peer.core.table_news import NOW_KNOWN_AS
from tests.peer.core_kit import (
    BOB,
    DIRECT_ROUND,
    FULL,
    ME,
    NO_ALICE,
    OWN_ROW,
    RELEASED,
    SERVER,
    T0,
    UNKNOWN,
    prints,
    registered,
    run_until,
    sent,
)
from tests.peer.honest import REGISTRY_KEY
from tests.peer.parts_kit import logged
from wire.messages import (
    Ack,
    ChannelPost,
    Deregister,
    Entry,
    Keepalive,
    Refused,
    Register,
    Rename,
    RoomPost,
    Saved,
    SaveMessage,
    TableSnapshot,
    TableUpdate,
    Welcome,
)
from wire.refusals import RefusalCode
from wire.reliable import TIMEOUT


def test_a_keepalive_refused_while_deregistering_does_not_register_again() -> None:
    core = PeerCore(
        name="alice",
        port=6001,
        server=SERVER,
        session="a",
        keepalive=1.0,
        registry_key=REGISTRY_KEY,
    )
    [register] = sent(core.start(T0))
    core.receive(
        Welcome("r-1", register.id, "alice", "tok", 1, OWN_ROW, (), ()), SERVER, REGISTRY_KEY, T0
    )
    [keepalive] = sent(run_until(core, T0 + 1))
    assert isinstance(keepalive, Keepalive)
    [dereg] = sent(core.line("dereg alice", T0 + 1))
    # the registry handled the Deregister first: it refuses the keepalive that crossed it,
    # and that refusal overtakes the (merged, later) ack of the Deregister
    out = core.receive(
        Refused("r-2", keepalive.id, "Not registered."), SERVER, REGISTRY_KEY, T0 + 1.01
    )  # type: ignore[attr-defined]
    assert sent(out) == [] and prints(out) == []
    assert (
        sent(run_until(core, T0 + 1 + TIMEOUT - 0.1)) == []
    )  # nor a keepalive while it is in flight
    out = core.receive(Ack("r-3", dereg.id), SERVER, REGISTRY_KEY, T0 + 1.02)
    assert prints(out) == [OFFLINE_BYE]
    assert [m for m in sent(run_until(core, T0 + 30)) if not isinstance(m, Deregister)] == []


def test_a_message_the_registry_could_not_save_is_named_with_its_recipient() -> None:
    # Issue: "[bob's mailbox is full; your message was not saved.]" came 2.5 s after the
    # send, with other lines typed since, and did not say which message it was
    core, _ = registered()
    core.line("send bob are you there?", T0)
    out = run_until(core, T0 + DIRECT_ROUND + 0.1)  # bob never answers: the registry probes it
    [save] = [m for m in sent(out) if isinstance(m, SaveMessage)]
    core.receive(Ack("r-3", save.id), SERVER, REGISTRY_KEY, T0 + DIRECT_ROUND + 0.2)
    out = core.receive(Saved("r-4", save.id, "bob", False, FULL), SERVER, REGISTRY_KEY, T0 + 5)
    assert prints(out) == ["[Message for bob not saved (bob's mailbox is full): “are you there?”]"]
    # refused at once (bob offline, its box full): the same line, and nothing kept to resend
    long_text = "the minutes of today's meeting, " * 3
    core.line(f"send bob {long_text}", T0 + 6)
    out = run_until(core, T0 + 6 + DIRECT_ROUND + 0.1)
    [save] = [m for m in sent(out) if isinstance(m, SaveMessage)]
    out = core.receive(
        Refused("r-5", save.id, FULL), SERVER, REGISTRY_KEY, T0 + 6 + DIRECT_ROUND + 0.2
    )
    cut = long_text[:39] + "…"  # cut as the other lines that name a message are
    assert prints(out) == [f"[Message for bob not saved (bob's mailbox is full): “{cut}”]"]
    assert core.outbox == ()


def test_a_kept_message_the_registry_refuses_is_named_in_full_with_the_reason() -> None:
    # found by trying it: a kept message refused when the registry came back (a wrong
    # token, after a hand-edited state file) was dropped with a bare "[Wrong token ...]"
    long_text = "the minutes of today's meeting, " * 3
    kept = (
        SaveMessage("old-1", "alice", "stale", "bob", long_text),
        ChannelPost("old-2", "alice", "stale", "hello all"),
    )
    core = PeerCore(
        name="alice", port=6001, server=SERVER, session="a", outbox=kept, registry_key=REGISTRY_KEY
    )
    [register] = sent(core.start(T0))
    welcome = Welcome("r-1", register.id, "alice", "tok", 3, (Entry("bob", *BOB, False),), (), ())
    out = core.receive(welcome, SERVER, REGISTRY_KEY, T0)
    assert [m.id for m in sent(out)] == ["old-1"]  # sent once registered, one at a time
    out = core.receive(
        Refused("r-2", "old-1", "Wrong token for that name."), SERVER, REGISTRY_KEY, T0 + 0.1
    )
    assert [m.id for m in sent(out)] == ["old-2"]  # refused for good: the next goes
    out += core.receive(
        Refused("r-3", "old-2", "Wrong token for that name."), SERVER, REGISTRY_KEY, T0 + 0.1
    )
    assert prints(out) == [
        "[Kept message for bob not delivered: Wrong token for that name.]",
        f"[Your message: {long_text}]",
        "[Kept message to the channel not delivered: Wrong token for that name.]",
        "[Your message: hello all]",
    ]
    assert core.outbox == () and logged(core.records) == ()
    # a message just typed is named in one line: the user still has it on screen
    [save] = sent(core.line("send bob hi", T0 + 1))  # bob is offline: to the registry
    assert isinstance(save, SaveMessage)
    out = core.receive(
        Refused("r-4", save.id, "bob's mailbox is full."), SERVER, REGISTRY_KEY, T0 + 1.1
    )
    assert prints(out) == ["[Message for bob not saved (bob's mailbox is full): “hi”]"]


def test_a_join_or_rename_said_to_have_failed_is_taken_when_its_answer_comes_late() -> None:
    # the registry was slow (or every answer was lost): it did join and rename us, so this
    # peer must follow, or it and the table disagree for good
    core, _ = registered()
    [join] = sent(core.line("/join late", T0))
    # typed at once, the rename waits for the join's answer (here: its give-up)
    assert sent(core.line("/nick alicia", T0)) == []
    out = run_until(core, T0 + 3)
    rename = next(m for m in sent(out) if isinstance(m, Rename))
    out += run_until(core, T0 + 6)
    assert "[Renames need the registry; you are still alice.]" in prints(out)
    assert core.state.room == "" and core.state.name == "alice"
    out = core.receive(Ack("r-8", join.id), SERVER, REGISTRY_KEY, T0 + 7)  # type: ignore[attr-defined]
    assert core.state.room == "late"
    out = core.receive(Ack("r-9", rename.id), SERVER, REGISTRY_KEY, T0 + 7)
    assert core.state.name == "alicia"
    assert NOW_KNOWN_AS.format("alicia") in prints(out)
    # a late refusal changes nothing: failure was already said
    again = core.receive(Refused("r-10", join.id, "no"), SERVER, REGISTRY_KEY, T0 + 8)  # type: ignore[attr-defined]
    assert prints(again) == [] and core.state.room == "late"


def test_a_kept_message_the_registry_could_not_save_is_named_as_kept() -> None:
    kept = (SaveMessage("old-1", "alice", "tok", "bob", "see you later"),)
    core = PeerCore(
        name="alice", port=6001, server=SERVER, session="a", outbox=kept, registry_key=REGISTRY_KEY
    )
    [register] = sent(core.start(T0))
    welcome = Welcome("r-1", register.id, "alice", "tok", 3, (Entry("bob", *BOB, False),), (), ())
    core.receive(welcome, SERVER, REGISTRY_KEY, T0)
    core.receive(Ack("r-2", "old-1"), SERVER, REGISTRY_KEY, T0 + 0.1)  # taken, then found no room
    out = core.receive(Saved("r-3", "old-1", "bob", False, FULL), SERVER, REGISTRY_KEY, T0 + 3)
    line = "[Kept message for bob not saved (bob's mailbox is full): “see you later”]"
    assert prints(out) == [line]


def test_a_release_is_said_before_what_became_of_the_kept_messages() -> None:
    # Issue: after `release alice` on the registry's console, the kept messages' refusals
    # ("No user named alice.") came before the line saying the name was released: the
    # table change that says it had a gap before it, and the whole table came after them
    kept = (
        SaveMessage("old-1", "alice", "tok", "bob", "see you later"),
        ChannelPost("old-2", "alice", "tok", "hello all"),
    )
    core = PeerCore(
        name="alice", port=6001, server=SERVER, session="a", outbox=kept, registry_key=REGISTRY_KEY
    )
    [register] = sent(core.start(T0))
    welcome = Welcome("r-1", register.id, "alice", "tok", 3, (Entry("bob", *BOB, False),), (), ())
    core.receive(welcome, SERVER, REGISTRY_KEY, T0)
    gone = TableUpdate(
        "r-2", 9, (Entry("alice", *ME, False), Entry("alice", "127.0.0.1", 0, False))
    )
    out = core.receive(gone, SERVER, REGISTRY_KEY, T0 + 1)
    out += run_until(core, T0 + 3.5)  # held: the gap before it is sent again
    assert prints(out) == []
    out = core.receive(Refused("r-3", "old-1", NO_ALICE, UNKNOWN), SERVER, REGISTRY_KEY, T0 + 3.6)
    out += core.receive(Refused("r-4", "old-2", NO_ALICE, UNKNOWN), SERVER, REGISTRY_KEY, T0 + 3.6)
    assert prints(out) == [
        RELEASED,
        "[Kept message for bob not delivered: the registry released the name alice.]",
        "[Your message: see you later]",
        "[Kept message to the channel not delivered: the registry released the name alice.]",
        "[Your message: hello all]",
    ]
    assert not core.state.life.registered and core.outbox == ()
    # the whole table, when it comes, does not say it again (nor anything: no row changed)
    out = core.receive(
        TableSnapshot("r-5", "x", 9, (Entry("bob", *BOB, False),), ()), SERVER, REGISTRY_KEY, T0 + 4
    )
    assert prints(out) == []


def test_a_keepalive_refused_for_a_released_name_does_not_take_it_back() -> None:
    core, _ = registered()
    out = run_until(core, T0 + 10.1)
    [keepalive] = [m for m in sent(out) if isinstance(m, Keepalive)]
    out = core.receive(
        Refused("r-9", keepalive.id, NO_ALICE, UNKNOWN), SERVER, REGISTRY_KEY, T0 + 10.2
    )
    assert prints(out) == [RELEASED]
    assert not any(isinstance(m, Register) for m in sent(out)) and not core.state.life.registered


@pytest.mark.parametrize(
    ("reason", "code", "kept"),
    [
        ("You are offline.", RefusalCode.OFFLINE, True),
        ("Reworded: the registry gave up on you.", RefusalCode.OFFLINE, True),
        ("You are offline.", RefusalCode.OTHER, False),
    ],
)
def test_a_refused_room_line_is_judged_by_its_code_never_by_its_words(
    reason: str, code: RefusalCode, kept: bool
) -> None:
    """Refused as offline (the registry gave up on us), a room line is kept and we come
    back; any other refusal says it was not sent, whatever its reason's words."""
    core, _ = registered()
    [join] = sent(core.line("/join lobby", T0))
    core.receive(Ack("r-8", join.id), SERVER, REGISTRY_KEY, T0 + 0.1)  # type: ignore[attr-defined]
    [post] = sent(core.line("hello room", T0 + 0.2))
    assert isinstance(post, RoomPost)
    out = core.receive(Refused("r-9", post.id, reason, code), SERVER, REGISTRY_KEY, T0 + 0.3)
    said_not_sent = any(line.startswith("[Not sent to lobby") for line in prints(out))
    came_back = any(isinstance(m, Register) for m in sent(out))
    assert (said_not_sent, came_back) == (not kept, kept)
