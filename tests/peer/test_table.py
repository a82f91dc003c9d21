"""The peer's copy of the registry's table (peer.core.table), on its own."""

from __future__ import annotations

from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from peer.core.table import HELD_MOST, TableCopy
from tests.hypothesis_profiles import examples
from wire.messages import Alias, Entry, TableUpdate
from wire.names import name_key

BOB = Entry("Bob", "127.0.0.1", 6002, True)
CAROL = Entry("carol", "127.0.0.1", 6003, False)


def table_of(*entries: Entry, version: int = 3, aliases: tuple[Alias, ...] = ()) -> TableCopy:
    table = TableCopy()
    table.replace(version, entries, aliases)
    return table


def test_rows_are_found_by_any_spelling_of_their_name() -> None:
    table = table_of(BOB, CAROL)
    assert table.entry("bob") is BOB and table.entry("BOB") is BOB
    assert "bOb" in table and "dave" not in table and 42 not in table
    assert sorted(e.name for e in table.rows()) == ["Bob", "carol"]
    assert table.online_names() == ["Bob"]
    assert table.version == 3


def test_a_whole_table_that_shows_a_rename_its_registry_forgot_is_followed() -> None:
    # a registry killed just after bob became robert names no alias at its next start;
    # a save still for bob must find robert's row (and key) to be sealed to
    table = table_of(BOB, CAROL)
    robert = Entry("robert", BOB.ip, BOB.port, True, key="k" * 43 + "=")
    table.replace(9, (robert, CAROL), ())
    assert table.entry("bob") is robert
    # by key, at a new address; and carol's row, the same, renames nothing
    moved = Entry("bobby", "127.0.0.1", 7000, True, key=robert.key)
    table.replace(10, (moved, CAROL), ())
    assert table.entry("robert") is moved and table.entry("bob") is moved
    assert table.entry("carol") is CAROL


def test_another_key_at_a_gone_rows_address_is_someone_else_not_a_rename() -> None:
    bob = Entry("bob", "127.0.0.1", 6002, True, key="b" * 43 + "=")
    table = table_of(bob, CAROL)
    dave = Entry("dave", bob.ip, bob.port, True, key="d" * 43 + "=")  # took bob's port
    table.replace(9, (dave, CAROL), ())
    assert table.entry("bob") is None  # a message typed to bob must not go to dave
    # nor in one update that removes bob and adds erin at his port
    table = table_of(bob, CAROL)
    erin = Entry("erin", bob.ip, bob.port, True, key="e" * 43 + "=")
    assert table.apply(TableUpdate("u-1", 4, (Entry("bob", "", 0, False), erin)), "bob") == ""
    assert table.entry("bob") is None


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
    assert table.take_held() == []  # 4 is missing
    table.apply(TableUpdate("u-4", 4, ()), "alice")
    assert [update.version for update in table.take_held()] == [5, 6]
    assert table.take_held() == []
    assert table.hold(TableUpdate("u-8", 8, ())) == 1  # 3, passed, was forgotten
    for version in range(9, 9 + HELD_MOST):
        held = table.hold(TableUpdate(f"u-{version}", version, ()))
    assert held == HELD_MOST  # the oldest gave way


NAMES = ("ann", "Bob", "carol", "dave")


@st.composite
def changes(draw: st.DrawFn) -> list[tuple[Entry, ...]]:
    """The rows each version from 1 on changes: a name taken at a port, or released."""
    count = draw(st.integers(1, 40))
    rows = st.builds(
        lambda name, port: Entry(name, "127.0.0.1" if port else "", port, port > 0),
        st.sampled_from(NAMES),
        st.sampled_from((0, 6001, 6002)),
    )
    return [tuple(draw(st.lists(rows, min_size=1, max_size=3))) for _ in range(count)]


def since(versions: list[tuple[Entry, ...]], start: int, version: int) -> TableUpdate:
    """The update from `start` to `version`: each row changed between, as it was last."""
    last = {name_key(e.name): e for rows in versions[start:version] for e in rows}
    return TableUpdate(f"s-{start}-{version}", version, tuple(last.values()), start)


@given(changes(), st.randoms(use_true_random=False), st.data())
@settings(max_examples=examples(200), deadline=None)
def test_updates_held_in_any_order_give_the_table_applied_in_order(
    versions: list[tuple[Entry, ...]], random: Random, data: st.DataObject
) -> None:
    in_order = table_of(version=0)
    for version, rows in enumerate(versions, start=1):
        in_order.apply(TableUpdate(f"u-{version}", version, rows), "alice")
    updates = [TableUpdate(f"u-{v}", v, rows) for v, rows in enumerate(versions, start=1)]
    count = len(versions)
    for _ in range(data.draw(st.integers(0, 3))):  # some since an older version (a catch-up)
        start = data.draw(st.integers(0, count - 1))
        updates.append(since(versions, start, data.draw(st.integers(start + 1, count))))
    random.shuffle(updates)
    table = table_of(version=0)
    for update in updates:  # as TableNews takes them: applied when next, else held
        if update.version <= table.version:
            continue
        if update.start() > table.version:
            table.hold(update)
            continue
        table.apply(update, "alice")
        for held in table.take_held():
            table.apply(held, "alice")
    assert table.version == count
    assert {name_key(e.name): e for e in table.rows()} == {
        name_key(e.name): e for e in in_order.rows()
    }


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
    assert table.take_held() == []
    caught_up = TableUpdate("u-6", 6, (CAROL,), 2)  # every row changed after 2: ours is 3
    table.apply(caught_up, "alice")
    assert table.version == 6 and "carol" in table
    table.hold(TableUpdate("u-7", 7, (), 6))
    table.hold(TableUpdate("u-8", 8, (), 7))  # passed by 9, which starts at 7 too
    # the one from our version, then the furthest it leads to
    assert [update.version for update in table.take_held()] == [7, 9]
    assert table.take_held() == []
