"""The peer's copy of the registry's table (peer.core.table), on its own."""

from __future__ import annotations

from msgspec.structs import replace

from peer.core.table import HELD_MOST, Table
from wire.messages import Alias, Entry, TableUpdate

BOB = Entry("Bob", "127.0.0.1", 6002, True)
CAROL = Entry("carol", "127.0.0.1", 6003, False)


def table_of(*entries: Entry, version: int = 3, aliases: tuple[Alias, ...] = ()) -> Table:
    table = Table()
    table.replace(version, entries, aliases)
    return table


def test_rows_are_found_by_any_spelling_of_their_name() -> None:
    table = table_of(BOB, CAROL)
    assert table["bob"] is BOB and table["BOB"] is BOB
    assert "bOb" in table and "dave" not in table and 42 not in table
    assert len(table) == 2 and sorted(table) == ["Bob", "carol"]
    assert sorted(e.name for e in table.rows()) == ["Bob", "carol"]
    assert table.online_names() == ["Bob"]
    assert table.version == 3


def test_an_update_is_applied_and_a_rename_in_it_is_followed() -> None:
    table = table_of(BOB, CAROL)
    robert = Entry("robert", BOB.ip, BOB.port, True)
    gone = Entry("Bob", "", 0, False)
    assert table.apply(TableUpdate("u-1", 4, (gone, robert)), "alice") == ""
    assert table.version == 4 and "bob" not in table
    assert table.entry("bob") == robert  # typed by habit: the new row
    assert table.entry("nobody") is None


def test_an_update_that_renames_us_says_our_new_name() -> None:
    me = Entry("alice", "127.0.0.1", 6001, True)
    table = table_of(me)
    new = Entry("Alicia", me.ip, me.port, True)
    assert table.apply(TableUpdate("u-1", 4, (Entry("alice", "", 0, False), new)), "ALICE") == (
        "Alicia"
    )


def test_a_whole_table_brings_the_renames_made_while_we_were_away() -> None:
    robert = Entry("robert", BOB.ip, BOB.port, True)
    table = table_of(robert, aliases=(Alias("bob", "robert"), Alias("robert", "bob")))
    assert table.entry("bob") == robert
    assert table.entry("robert") == robert  # an alias of a name in the table is not one


def test_a_loop_of_renames_is_not_followed_forever() -> None:
    table = table_of(aliases=(Alias("a", "b"), Alias("b", "a")))
    assert table.entry("a") is None


def test_updates_held_are_given_back_in_order_once_each_is_next() -> None:
    table = table_of(version=3)
    assert [table.hold(TableUpdate(f"u-{v}", v, ())) for v in (6, 5, 3)] == [1, 2, 3]
    assert table.take_next() is None  # 4 is missing
    table.apply(TableUpdate("u-4", 4, ()), "alice")
    for version in (5, 6):
        update = table.take_next()
        assert update is not None and update.version == version
        table.apply(update, "alice")
    assert table.take_next() is None
    assert table.hold(TableUpdate("u-8", 8, ())) == 1  # 3, passed, was forgotten
    for version in range(9, 9 + HELD_MOST):
        held = table.hold(TableUpdate(f"u-{version}", version, ()))
    assert held == HELD_MOST  # the oldest gave way


def test_the_rows_changed_are_noted_as_they_were_until_taken() -> None:
    table = table_of(BOB, CAROL)
    table.take_changed()
    bob_off = replace(BOB, online=False)
    dave = Entry("dave", "127.0.0.1", 6004, True)
    table.apply(TableUpdate("u-1", 4, (bob_off, dave)), "alice")
    table.apply(TableUpdate("u-2", 5, (BOB,)), "alice")  # back: noted as it was first
    assert table.take_changed() == {"bob": BOB, "dave": None}
    assert table.take_changed() == {}  # taken: noted anew from here
    table.renamed("carol", "caroline")
    assert table.take_changed() == {"carol": CAROL, "caroline": None}


def test_a_whole_table_notes_every_row_of_both() -> None:
    table = table_of(BOB, CAROL)
    table.take_changed()
    dave = Entry("dave", "127.0.0.1", 6004, True)
    table.replace(9, (CAROL, dave), ())
    assert table.take_changed() == {"bob": BOB, "carol": CAROL, "dave": None}


def test_an_update_since_an_older_version_applies_to_any_table_from_that_version_on() -> None:
    table = table_of(BOB, version=3)
    dave = Entry("dave", "127.0.0.1", 6004, True)
    table.hold(TableUpdate("u-9", 9, (dave,), 7))  # starts at 7: the table is not there
    assert table.take_next() is None
    caught_up = TableUpdate("u-6", 6, (CAROL,), 2)  # every row changed after 2: ours is 3
    table.apply(caught_up, "alice")
    assert table.version == 6 and "carol" in table
    table.hold(TableUpdate("u-7", 7, (), 6))
    taken = table.take_next()  # the one from our version, then the one it leads to
    assert taken is not None and taken.version == 7
    table.apply(taken, "alice")
    last = table.take_next()
    assert last is not None and last.version == 9 and table.take_next() is None
