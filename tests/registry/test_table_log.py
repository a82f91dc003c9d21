"""TableLog: the table's recent updates, and the rows changed since a version."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from peer.core.table import Table as PeerTable
from registry.core.table_changes import TableLog
from wire.messages import Entry, TableUpdate
from wire.names import name_key

BOB = Entry("bob", "127.0.0.2", 6002, True)
CAROL = Entry("carol", "127.0.0.3", 6003, True)


def _update(version: int, *rows: Entry) -> TableUpdate:
    return TableUpdate(f"r-{version}", version, rows)


def _rows(log: TableLog, since: int, version: int) -> tuple[Entry, ...] | None:
    delta = log.rows_since(since, version)
    return None if delta is None else delta.rows


def test_the_rows_since_a_version_are_each_as_last_changed_in_the_order_of_that_change() -> None:
    log = TableLog()
    log.add(_update(5, BOB))
    log.add(_update(6, CAROL, BOB._replace(online=False)))
    # a rename of carol to dave: the removal, then the new row, kept together at the end
    dave = CAROL._replace(name="dave")
    log.add(_update(7, CAROL._replace(port=0, online=False), dave))
    gone = CAROL._replace(port=0, online=False)
    assert _rows(log, 4, 7) == (BOB._replace(online=False), gone, dave)
    assert _rows(log, 6, 7) == (gone, dave)
    assert _rows(log, 7, 7) == ()  # up to date: nothing changed since


def test_a_version_the_log_does_not_reach_is_answered_by_nothing_but_the_whole_table() -> None:
    log = TableLog(keep=2)
    for version in (5, 6, 7):
        log.add(_update(version, BOB))
    assert log.rows_since(6, 7) is not None and log.rows_since(5, 7) is not None
    assert log.rows_since(4, 7) is None  # version 5 is no longer kept
    assert log.rows_since(8, 7) is None  # from the future: another table's numbering
    assert log.rows_since(6, 9) is None  # the table moved on without the log
    log.add(_update(100, CAROL))  # a jump (a restart): the log starts again
    assert log.rows_since(6, 100) is None and _rows(log, 99, 100) == (CAROL,)
    assert _rows(TableLog(), 3, 3) == ()  # nothing kept yet, and nothing missed


def test_an_answer_is_kept_for_every_asker_until_the_next_version() -> None:
    log = TableLog()
    log.add(_update(1, BOB))
    first = log.rows_since(0, 1)
    assert first is not None and log.rows_since(0, 1) is first
    log.add(_update(2, CAROL))
    again = log.rows_since(0, 2)
    assert again is not None and again is not first and again.rows == (BOB, CAROL)


_NAMES = ["ann", "Bob", "bob", "cy", "dee", "eve"]
# one change: the row of a name (port 0: released, or renamed away), or a rename of a name
# to another at the same address (the removal and the new row in one update)
_CHANGE = st.tuples(
    st.sampled_from(_NAMES),
    st.sampled_from(_NAMES),
    st.integers(0, 3),  # the port; 0 removes the row
    st.booleans(),  # online
    st.booleans(),  # a rename
)


@settings(deadline=None)
@given(
    changes=st.lists(st.lists(_CHANGE, min_size=1, max_size=3), max_size=30),
    received=st.lists(st.booleans(), min_size=30, max_size=30),
    asks=st.lists(st.booleans(), min_size=30, max_size=30),
    keep=st.integers(1, 8),
)
def test_a_peer_that_applies_what_it_is_sent_ends_with_the_registrys_table(
    changes: list[list[tuple[str, str, int, bool, bool]]],
    received: list[bool],
    asks: list[bool],
    keep: int,
) -> None:
    # The registry numbers each update, keeps the last `keep`; the peer takes the updates it
    # receives while they follow its version, and now and then asks for what changed since
    # its version: the rows since, or the whole table when the log no longer reaches.
    rows: dict[str, Entry] = {}
    log, peer = TableLog(keep), PeerTable()
    peer.replace(0, (), ())
    version = 0

    def ask() -> None:
        delta = log.rows_since(peer.version, version)
        if delta is None:
            peer.replace(version, tuple(rows.values()), ())
        elif peer.version < version:
            peer.apply(TableUpdate("s", version, delta.rows), "")

    for at, change in enumerate(changes):
        update_rows: list[Entry] = []
        for name, other, port, online, rename in change:
            row = Entry(name, f"127.0.0.{port}", port, online and port > 0)
            if rename and port and name_key(name) != name_key(other):
                update_rows.append(Entry(other, row.ip, 0, False))
                rows.pop(name_key(other), None)
            update_rows.append(row)
            if port:
                rows[name_key(name)] = row
            else:
                rows.pop(name_key(name), None)
        version += 1
        update = TableUpdate(f"u-{version}", version, tuple(update_rows))
        log.add(update)
        if received[at] and update.version == peer.version + 1:
            peer.apply(update, "")
        if asks[at]:
            ask()
    ask()
    assert peer.version == version
    assert {name_key(e.name): e for e in peer.rows()} == rows
