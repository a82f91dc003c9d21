"""PeerCore as a whole, the registry's table as it comes, and our renames and releases in it."""

from __future__ import annotations

from msgspec.structs import replace

from peer.core import actions as pa
from peer.core.change_lines import (
    TABLE_UPDATED,
)
from peer.core.dispatch import PeerCore
from peer.core.table import HELD_UPDATES
from peer.core.table_news import NOW_KNOWN_AS
from tests.peer.core_kit import (
    BOB,
    ME,
    SERVER,
    T0,
    prints,
    registered,
    renamed_by_answer,
    run_until,
    sent,
)
from tests.peer.honest import REGISTRY_KEY
from wire.messages import (
    Ack,
    Alias,
    Chat,
    Entry,
    Keepalive,
    TableRequest,
    TableSnapshot,
    TableUpdate,
    TooBig,
    Welcome,
)


def test_a_missed_table_change_is_held_for_the_registry_to_send_again() -> None:
    core, _ = registered()
    out = core.receive(
        TableUpdate("r-5", 5, (Entry("dave", "127.0.0.1", 6004, True),)), SERVER, REGISTRY_KEY, T0
    )
    out += run_until(core, T0 + 9)
    assert not any(isinstance(m, TableRequest) for m in sent(out))  # held: sent again soon
    assert "dave" not in core.table


def test_a_missed_table_change_that_comes_again_fills_the_gap_without_the_whole_table() -> None:
    core, _ = registered()
    dave, erin = Entry("dave", "127.0.0.1", 6004, True), Entry("erin", "127.0.0.1", 6005, True)
    core.receive(TableUpdate("r-5", 5, (erin,)), SERVER, REGISTRY_KEY, T0)
    out = core.receive(
        TableUpdate("r-4", 4, (dave,)), SERVER, REGISTRY_KEY, T0 + 0.5
    )  # its second copy
    out += run_until(core, T0 + 5)
    assert (
        core.table.version == 5
        and core.table.entry("dave") == dave
        and core.table.entry("erin") == erin
    )
    assert not any(isinstance(m, TableRequest) for m in sent(out))


def test_a_jump_in_versions_too_big_to_be_held_fetches_the_whole_table_at_once() -> None:
    core, _ = registered()
    jump = TableUpdate("r-9", 4 + HELD_UPDATES, (Entry("dave", "127.0.0.1", 6004, True),))
    out = core.receive(jump, SERVER, REGISTRY_KEY, T0)  # (a registry restarted: its versions jump)
    assert any(isinstance(m, TableRequest) for m in sent(out))


def test_updates_before_the_welcome_are_acked_and_applied_after_it() -> None:
    core = PeerCore(name="alice", port=6001, server=SERVER, session="a", registry_key=REGISTRY_KEY)
    [register] = sent(core.start(T0))
    core.receive(TooBig("r-1", register.id), SERVER, REGISTRY_KEY, T0)  # type: ignore[attr-defined]
    dave = Entry("dave", "127.0.0.1", 6004, True)
    erin = Entry("erin", "127.0.0.1", 6005, True)
    early = [
        TableUpdate("r-3", 3, (Entry("bob", *BOB, True),)),  # the Welcome will hold it
        TableUpdate("r-5", 5, (erin,)),  # arrives before the one it follows
        TableUpdate("r-4", 4, (dave,)),
    ]
    for update in early:
        out = core.receive(update, SERVER, REGISTRY_KEY, T0 + 0.1)
        assert sent(out) == []
        assert pa.AcksLater(SERVER, REGISTRY_KEY, [update.id]) in out
        assert prints(out) == []
    welcome = Welcome("r-2", register.id, "alice", "tok", 3, (Entry("alice", *ME, True),), (), ())
    out = core.receive(welcome, SERVER, REGISTRY_KEY, T0 + 0.2)
    assert core.table.version == 5
    assert core.table.entry("dave") == dave and core.table.entry("erin") == erin
    assert not any(isinstance(m, TableRequest) for m in sent(out))


def test_a_rename_whose_every_answer_was_lost_is_taken_from_the_table_update() -> None:
    core, _ = registered()
    sent(core.line("/nick alicia", T0))
    out = run_until(core, T0 + 3)  # five tries, no answer: said to have failed
    assert "[Renames need the registry; you are still alice.]" in prints(out)
    # ... but the registry did it, and pushes the change to everyone
    update = TableUpdate(
        "r-9", 4, (Entry("alice", "127.0.0.1", 0, False), Entry("alicia", *ME, True))
    )
    out = core.receive(update, SERVER, REGISTRY_KEY, T0 + 4)
    assert core.state.name == "alicia"
    assert NOW_KNOWN_AS.format("alicia") in prints(out)
    assert pa.Remember("alicia", "tok") in out


def test_a_rename_seen_in_the_table_before_its_answer_is_taken_once() -> None:
    core, _ = registered()
    [rename] = sent(core.line("/nick alicia", T0))
    update = TableUpdate(
        "r-9", 4, (Entry("alice", "127.0.0.1", 0, False), Entry("alicia", *ME, True))
    )
    assert NOW_KNOWN_AS.format("alicia") in prints(
        core.receive(update, SERVER, REGISTRY_KEY, T0 + 0.1)
    )
    out = core.receive(Ack("r-10", rename.id), SERVER, REGISTRY_KEY, T0 + 0.2)  # type: ignore[attr-defined]
    assert prints(out) == [] and core.state.name == "alicia"
    assert "Server not responding" not in " ".join(prints(run_until(core, T0 + 3)))


def test_who_right_after_a_rename_lists_the_new_name_as_ours() -> None:
    # found by trying it: a script's `/nick alicia` then `/who` listed "alice online",
    # not as ours: the table's update came after the rename's answer
    core, _ = registered()
    [rename] = sent(core.line("/nick alicia", T0))
    core.receive(Ack("r-10", rename.id), SERVER, REGISTRY_KEY, T0 + 0.1)  # type: ignore[attr-defined]
    listed = prints(core.line("who", T0 + 0.2))
    assert "  alicia  online   (you)" in listed and not any("alice " in s for s in listed)
    assert core.table.entry("alice") == Entry("alicia", *ME, True)  # followed, as renames are
    # the update that follows changes nothing more, and is no release of our name
    update = TableUpdate(
        "r-9", 4, (Entry("alice", "127.0.0.1", 0, False), Entry("alicia", *ME, True))
    )
    out = core.receive(update, SERVER, REGISTRY_KEY, T0 + 0.3)
    assert core.state.life.registered and not any("released" in line for line in prints(out))
    assert prints(core.line("who", T0 + 0.4)) == listed


def test_a_name_renamed_before_we_started_still_leads_to_its_peer() -> None:
    core = PeerCore(name="alice", port=6001, server=SERVER, session="a", registry_key=REGISTRY_KEY)
    [register] = sent(core.start(T0))
    robert = Entry("robert", "127.0.0.1", 6002, True)
    welcome = Welcome(
        "r-1", register.id, "alice", "tok", 3, (robert,), (), (Alias("bob", "robert"),)
    )
    core.receive(welcome, SERVER, REGISTRY_KEY, T0)
    out = core.line("send bob hi", T0)
    [chat] = sent(out)
    assert isinstance(chat, Chat) and chat.to == "robert"
    assert "[bob is now known as robert]" in prints(out)


def test_a_welcome_under_our_new_name_keeps_the_rename_we_missed() -> None:
    core = PeerCore(
        name="bobby", port=6001, server=SERVER, session="a", token="tok", registry_key=REGISTRY_KEY
    )
    [register] = sent(core.start(T0))
    out = core.receive(
        Welcome("r-1", register.id, "bert", "tok", 3, (), (), ()), SERVER, REGISTRY_KEY, T0
    )
    assert pa.Remember("bert", "tok") in out
    assert "[bobby was renamed bert as ChatApp stopped; you are bert.]" in prints(out)
    assert core.state.name == "bert"


def test_someone_else_renamed_from_a_name_like_ours_does_not_rename_us() -> None:
    core, _ = registered()
    update = TableUpdate(
        "r-9", 4, (Entry("bob", "127.0.0.1", 0, False), Entry("robert", *BOB, True))
    )
    core.receive(update, SERVER, REGISTRY_KEY, T0 + 0.1)
    assert core.state.name == "alice"


def test_our_name_gone_from_the_table_while_we_rename_is_not_a_release() -> None:
    # a rename's two rows (old gone, new at our address) can come in two table updates
    core, _ = registered()
    [rename] = sent(core.line("/nick alicia", T0))
    out = core.receive(
        TableUpdate("r-9", 4, (Entry("alice", "127.0.0.1", 0, False),)), SERVER, REGISTRY_KEY, T0
    )
    assert core.state.life.registered and "released" not in " ".join(prints(out))
    core.receive(Ack("r-10", rename.id), SERVER, REGISTRY_KEY, T0 + 0.1)  # type: ignore[attr-defined]
    assert core.state.name == "alicia"


def test_our_name_released_on_the_registry_console_takes_us_offline() -> None:
    core, _ = registered()
    out = core.receive(
        TableUpdate("r-9", 4, (Entry("alice", "127.0.0.1", 0, False),)), SERVER, REGISTRY_KEY, T0
    )
    assert prints(out)[-1] == (
        "[The registry released the name alice: you are offline. "
        "Type reg alice to register it again.]"
    )
    assert not core.state.life.registered
    assert [m for m in sent(run_until(core, T0 + 30)) if isinstance(m, Keepalive)] == []


def test_our_name_missing_from_a_whole_table_is_a_release_or_our_rename() -> None:
    # a peer that missed updates fetches the whole table: the news it missed may be ours
    bob = Entry("bob", *BOB, True)
    core, _ = registered()
    out = core.receive(TableSnapshot("r-9", "x", 5, (bob,), ()), SERVER, REGISTRY_KEY, T0)
    assert prints(out)[-1].startswith("[The registry released the name alice: you are offline.")
    assert not core.state.life.registered
    core, _ = registered()
    sent(core.line("/nick alicia", T0))
    out = core.receive(
        TableSnapshot("r-9", "x", 5, (bob, Entry("alicia", *ME, True)), ()),
        SERVER,
        REGISTRY_KEY,
        T0,
    )
    assert NOW_KNOWN_AS.format("alicia") in prints(out)
    assert core.state.life.registered and core.state.name == "alicia"
    core, _ = registered()
    sent(core.line("/nick alicia", T0))  # asked, not yet in the table: wait for its answer
    out = core.receive(TableSnapshot("r-9", "x", 5, (bob,), ()), SERVER, REGISTRY_KEY, T0)
    assert core.state.life.registered and "released" not in " ".join(prints(out))


def test_a_whole_table_taken_before_our_rename_is_no_release() -> None:
    # Found by the rooms property once members renamed: the answer to our rename came
    # before the whole table we had asked for, taken just before the rename (the
    # registry had restarted): our new name was missing from it, and we said the
    # registry had released it, and went offline
    bob = Entry("bob", *BOB, True)
    core, _ = registered()
    [rename] = sent(core.line("/nick alicia", T0))
    core.receive(Ack("r-8", rename.id), SERVER, REGISTRY_KEY, T0 + 0.01)  # type: ignore[attr-defined]
    out = core.receive(
        TableSnapshot("r-9", "x", 5, (bob, Entry("alice", *ME, True)), ()),
        SERVER,
        REGISTRY_KEY,
        T0 + 0.02,
    )
    assert "released" not in " ".join(prints(out))
    assert core.state.life.registered and core.state.name == "alicia"
    assert "alicia" in core.table and "alice" not in core.table


def test_a_late_update_of_a_rename_already_answered_is_no_news_of_the_same_rename_again() -> None:
    # Found by the whole-system property: alice -> alicia -> alice, both answered, their
    # updates lost; then /nick alicia again, its answer lost. A copy of the first update
    # (alice gone, alicia at our address) came next: it was taken as the third rename done,
    # which the registry never did, and this peer went on as alicia for good.
    core, _ = registered()
    renamed_by_answer(core, "alicia", T0)
    renamed_by_answer(core, "alice", T0 + 0.1)
    [third] = sent(core.line("/nick alicia", T0 + 0.2))
    first_update = TableUpdate(
        "r-9", 4, (Entry("alice", "127.0.0.1", 0, False), Entry("alicia", *ME, True))
    )
    out = core.receive(first_update, SERVER, REGISTRY_KEY, T0 + 0.3)
    assert core.state.name == "alice" and NOW_KNOWN_AS.format("alicia") not in prints(out)
    assert third in sent(run_until(core, T0 + 1.0))  # still asked: its answer decides
    core.receive(Ack("r-10", third.id), SERVER, REGISTRY_KEY, T0 + 1.1)  # type: ignore[attr-defined]
    assert core.state.name == "alicia"


def test_the_update_of_an_answered_rename_leaves_no_doubt_about_the_next() -> None:
    # each answered rename's update, come in order, is done with (the first, which takes
    # the name alice away, is no release of it: the second gave it back); the same move
    # given up on later and seen in the table is taken, as any given-up rename is
    core, _ = registered()
    renamed_by_answer(core, "alicia", T0)
    moves = [("alice", "alicia"), ("alicia", "alice")]
    renamed_by_answer(core, "alice", T0 + 0.1)
    for version, (old, new) in enumerate(moves, start=4):
        update = TableUpdate(
            f"r-{version}", version, (Entry(old, "127.0.0.1", 0, False), Entry(new, *ME, True))
        )
        out = core.receive(update, SERVER, REGISTRY_KEY, T0 + 0.2)
        assert core.state.life.registered and not any("released" in line for line in prints(out))
    assert core.state.name == "alice" and core.table.entry("alice") == Entry("alice", *ME, True)
    sent(core.line("/nick alicia", T0 + 1))
    out = run_until(core, T0 + 4)  # five tries, no answer: said to have failed
    assert "[Renames need the registry; you are still alice.]" in prints(out)
    update = TableUpdate(
        "r-6", 6, (Entry("alice", "127.0.0.1", 0, False), Entry("alicia", *ME, True))
    )
    out = core.receive(update, SERVER, REGISTRY_KEY, T0 + 5)
    assert core.state.name == "alicia" and NOW_KNOWN_AS.format("alicia") in prints(out)


def test_a_whole_table_showing_a_rename_we_gave_up_on_takes_it_as_done() -> None:
    # Found by the whole-system property: ann -> annx acked; then /nick ann, done by the
    # registry, which was killed before its answer left. The whole table after its restart
    # showed ann at our address, taken for a table from before the first rename: this peer
    # went on as annx while everyone else saw ann.
    core, _ = registered()
    renamed_by_answer(core, "alicia", T0)
    sent(core.line("/nick alice", T0 + 0.1))
    out = run_until(core, T0 + 3)
    assert "[Renames need the registry; you are still alicia.]" in prints(out)
    bob = Entry("bob", *BOB, True)
    snapshot = TableSnapshot("r-9", "x", 7, (bob, Entry("alice", *ME, True)), ())
    out = core.receive(snapshot, SERVER, REGISTRY_KEY, T0 + 20)
    assert core.state.name == "alice" and NOW_KNOWN_AS.format("alice") in prints(out)
    assert core.state.life.registered and "alice" in core.table and "alicia" not in core.table


def test_an_update_that_changes_no_row_says_nothing() -> None:
    # a peer that moved to another registry of the service is registered there again,
    # row for row: its row's update is no news
    core, _ = registered()
    row = Entry("dave", "127.0.0.1", 6004, True)
    assert prints(core.receive(TableUpdate("u-1", 4, (row,)), SERVER, REGISTRY_KEY, T0)) == [
        TABLE_UPDATED,
        "[dave is online]",
    ]
    assert prints(core.receive(TableUpdate("u-2", 5, (row,)), SERVER, REGISTRY_KEY, T0 + 5)) == []
    assert core.table.version == 5
    gone = Entry("dave", "127.0.0.1", 6004, False)
    assert prints(core.receive(TableUpdate("u-3", 6, (gone,)), SERVER, REGISTRY_KEY, T0 + 6)) == [
        TABLE_UPDATED,
        "[dave went offline]",
    ]


def test_a_whole_table_with_the_rows_held_says_nothing() -> None:
    # a registry that took over for the service sends every peer the table again
    core, _ = registered()
    row = Entry("dave", "127.0.0.1", 6004, True)
    core.receive(TableUpdate("u-1", 4, (row,)), SERVER, REGISTRY_KEY, T0)
    rows = tuple(core.table.rows())
    assert (
        prints(core.receive(TableSnapshot("s-1", "x", 9, rows, ()), SERVER, REGISTRY_KEY, T0 + 5))
        == []
    )
    assert core.table.version == 9
    moved = (*[r for r in rows if r.name != "dave"], replace(row, port=6005))
    assert prints(
        core.receive(TableSnapshot("s-2", "x", 10, moved, ()), SERVER, REGISTRY_KEY, T0 + 6)
    ) == [TABLE_UPDATED]
