"""What changed in the table, in words: arrivals, departures, renames, folded in bursts."""

from __future__ import annotations

from collections.abc import Iterable

from msgspec.structs import replace

from peer.core.change_lines import FOLD_OVER, MANY_HINT, NAMES_SHOWN, Rows, changes
from wire.messages import Entry
from wire.names import name_key


def row(name: str, port: int, online: bool = True, key: str = "") -> Entry:
    return Entry(name, "127.0.0.1", port, online, key)


def rows_of(entries: Iterable[Entry]) -> Rows:
    return {name_key(e.name): e for e in entries}


BEFORE = rows_of([row("alice", 6001), row("carol", 6003, key="K3"), row("dave", 6004)])


def test_one_change_of_each_kind_is_said_by_name() -> None:
    after = rows_of(
        [
            row("alice", 6001),
            row("bob", 6002),
            row("caroline", 6003, key="K3"),
            row("dave", 6004, False),
        ]
    )
    assert changes(BEFORE, after, "alice") == [
        "[bob is online]",
        "[dave went offline]",
        "[carol is now known as caroline]",
    ]


def test_a_rename_is_known_by_its_key_when_the_address_changed() -> None:
    after = rows_of([row("alice", 6001), row("caroline", 7003, key="K3"), row("dave", 6004)])
    assert changes(BEFORE, after, "alice") == ["[carol is now known as caroline]"]


def test_a_rename_to_another_spelling_of_the_name_is_said() -> None:
    after = rows_of([row("alice", 6001), row("Carol", 6003, key="K3"), row("dave", 6004)])
    assert changes(BEFORE, after, "alice") == ["[carol is now known as Carol]"]
    # a name released and taken by someone else, spelt otherwise, is no rename
    other = rows_of([row("alice", 6001), row("CAROL", 6009, key="K9"), row("dave", 6004)])
    assert changes(BEFORE, other, "alice") == []


def test_our_own_changes_are_left_out() -> None:
    after = rows_of([row("alicia", 6001), row("carol", 6003, key="K3"), row("dave", 6004)])
    assert changes(BEFORE, after, "alicia") == []
    assert changes(BEFORE, rows_of([*BEFORE.values(), row("me", 6009)]), "me") == []


def test_a_name_that_comes_back_is_online_again() -> None:
    before = rows_of([row("dave", 6004, False)])
    assert changes(before, rows_of([row("dave", 6004)]), "alice") == ["[dave is online]"]


def test_nothing_changed_says_nothing() -> None:
    assert changes(BEFORE, dict(BEFORE), "alice") == []


def test_many_at_once_are_folded_into_one_line_per_kind() -> None:
    many = [row(f"p{n:02d}", 7000 + n) for n in range(12)]
    named = rows_of([*BEFORE.values(), *many[:NAMES_SHOWN]])
    shown = ", ".join(f"p{n:02d}" for n in range(NAMES_SHOWN))
    assert changes(BEFORE, named, "alice") == [f"[{NAMES_SHOWN} people came online: {shown}]"]
    # past the names one line can show: a count, and the command that lists them
    after = rows_of([*BEFORE.values(), *many])
    assert changes(BEFORE, after, "alice") == [f"[12 people came online. {MANY_HINT}]"]
    gone = rows_of([replace(e, online=False) for e in after.values()])
    # alice is us, and left out
    assert changes(after, gone, "alice") == [f"[14 people went offline. {MANY_HINT}]"]
    few = rows_of([*BEFORE.values(), *many[:FOLD_OVER]])
    assert len(changes(BEFORE, few, "alice")) == FOLD_OVER


def test_a_first_table_of_many_online_is_counted_in_one_line() -> None:
    crowd = rows_of([row(f"n{n:04d}", 8000 + n) for n in range(4999)] + [row("alice", 6001)])
    assert changes({}, crowd, "alice") == [f"[4999 people came online. {MANY_HINT}]"]
