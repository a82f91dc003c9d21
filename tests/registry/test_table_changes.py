"""TableChanges alone: rows held and pushed together, cut to fit a datagram, and the views
of the table kept until its next change."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from registry.core.table import Record, Table
from registry.core.table_changes import COALESCE, TableChanges, fitting
from wire.codec import encode
from wire.keys import key_from_text, key_text
from wire.limits import MAX_DATAGRAM, MAX_ID
from wire.messages import Entry, TableUpdate

T0 = 1_700_000_000.0


def table_of(*records: Record) -> Table:
    table = Table()
    for record in records:
        table.records[record.name.casefold()] = record
    return table


def ids() -> itertools.count[int]:
    return itertools.count(1)


def test_table_rows_are_cut_to_fit_a_datagram_whatever_their_size() -> None:
    long_names = [Entry("ñ" * 32, "fe80::" + "a" * 33, 65535, True) for _ in range(40)]
    short = [Entry(f"p{i}", "10.0.0.1", 7000 + i, False) for i in range(200)]
    for rows in (long_names, short, long_names[:1], []):
        chunks = fitting(rows)
        assert [r for chunk in chunks for r in chunk] == rows
        for chunk in chunks:
            update = TableUpdate("x" * MAX_ID, 2**63 - 1, chunk)
            assert len(encode(update)) <= MAX_DATAGRAM
        assert len(chunks) <= 1 + len(encode(TableUpdate("i", 1, tuple(rows)))) // (
            MAX_DATAGRAM // 2
        )  # not one row per datagram: each cut leaves less than a row's room unused


def test_a_rename_s_two_rows_are_never_cut_apart() -> None:
    # peers recognise a rename by the removal and the new row in one update
    rows = [Entry(f"p{i:02d}" + "x" * 28, "10.0.0.1", 7000 + i, True) for i in range(60)]
    for at in range(1, 59):
        rename = [Entry("old", "10.0.0.9", 0, False), Entry("new", "10.0.0.9", 9, True)]
        chunks = fitting([*rows[:at], *rename, *rows[at:]])
        for chunk in chunks:
            assert chunk[-1].name != "old" or len(chunk) == 1


def test_changes_go_at_once_when_idle_and_together_within_coalesce() -> None:
    x = Record("x", "10.0.0.1", 7000, True, "t")
    y = Record("y", "10.0.0.2", 7000, True, "t")
    table = table_of(x, y)
    changes = TableChanges(table)
    made = ids()
    assert changes.changed((x.entry(),), T0)  # idle: push now
    updates, targets = changes.updates(T0, lambda: f"u-{next(made)}")
    assert [u.entries for u in updates] == [(x.entry(),)] and table.version == 1
    assert targets == [x, y] and changes.flush_at is None
    # within COALESCE of that push: held, and what follows joins them, each row once
    assert not changes.changed((y.entry(),), T0 + COALESCE / 2)
    assert changes.flush_at == T0 + COALESCE
    y.online = False
    assert not changes.changed((y.entry(), x.entry()), T0 + COALESCE / 2)
    updates, targets = changes.updates(T0 + COALESCE, lambda: f"u-{next(made)}")
    assert [u.entries for u in updates] == [(y.entry(), x.entry())]
    assert [u.version for u in updates] == [2] and targets == [x]
    assert changes.flush_at is None


def test_a_released_online_peer_hears_the_next_push_once() -> None:
    x = Record("x", "10.0.0.1", 7000, True, "t")
    gone = Record("gone", "10.0.0.2", 7000, True, "t")
    changes = TableChanges(table_of(x))
    changes.released_online(gone)
    assert changes.changed((Entry("gone", gone.ip, 0, False),), T0)
    _, targets = changes.updates(T0, lambda: "u-1")
    assert targets == [x, gone]
    changes.changed((x.entry(),), T0 + 1)
    assert changes.updates(T0 + 1, lambda: "u-2")[1] == [x]


def test_a_released_peer_s_key_is_used_at_its_address_until_another_is_online_there() -> None:
    gone = Record("gone", "10.0.0.2", 7000, True, "t", key=key_text(b"g" * 32))
    table = table_of()
    changes = TableChanges(table)
    changes.released_online(gone)
    assert changes.key_at(gone.addr) == b"g" * 32
    new = table.records["new"] = Record("new", *gone.addr, True, "t", key=key_text(b"n" * 32))
    changes.changed((new.entry(),), T0)
    assert changes.key_at(gone.addr) == b"n" * 32


def test_the_roster_and_the_address_index_follow_each_change() -> None:
    x = Record("x", "10.0.0.1", 7000, True, "t")
    y = Record("y", "10.0.0.2", 7000, False, "t")
    table = table_of(x, y)
    changes = TableChanges(table)
    roster = changes.roster()
    assert roster.keys == ("x",) and roster.offline == [y] and roster.distinct
    assert changes.roster() is roster  # kept while the table does not change
    assert changes.online_at(x.addr) == [x] and changes.online_at(y.addr) == []
    assert roster.online_but("x") == ((), ())
    y.online = True
    changes.changed((y.entry(),), T0)
    roster = changes.roster()
    assert roster.keys == ("x", "y") and roster.online_but("x") == (("y",), (y.addr,))
    assert changes.online_at(y.addr) == [y]


_NAMES = ("ann", "bo", "cy")
_ADDRS = (("10.0.0.1", 7000), ("10.0.0.1", 7001), ("10.0.0.2", 7000))
_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["online", "offline", "rename", "release", "rekey", "ask"]),
        st.sampled_from(_NAMES),
        st.sampled_from(_NAMES),
        st.sampled_from(_ADDRS),
    ),
    max_size=40,
)


@given(steps=_STEPS, first=st.lists(st.tuples(st.sampled_from(_NAMES), st.sampled_from(_ADDRS))))
def test_online_at_is_the_table_s_online_records_at_that_address(
    steps: list[tuple[str, str, str, tuple[str, int]]], first: list[tuple[str, tuple[str, int]]]
) -> None:
    """Kept row by row as changes come, the index, the keys and the rows answer as a look
    through the whole table would, whatever the changes: a peer online at another address,
    offline, renamed, released, given another key; several online at one address (a table
    kept by an earlier version)."""
    keys = itertools.count(1)

    def key() -> str:
        return key_text(next(keys).to_bytes(32, "big"))

    table = table_of(
        *(Record(name, *addr, True, "t", key=key()) for name, addr in dict(first).items())
    )
    changes = TableChanges(table)
    records = table.records

    def check() -> None:
        for addr in _ADDRS:
            expected = {r.name for r in table.online() if r.addr == addr}
            assert {r.name for r in changes.online_at(addr)} == expected
            there = {key_from_text(r.key) for r in table.online() if r.addr == addr}
            assert changes.key_at(addr) in (there or {b""})
        assert sorted(changes.entries()) == sorted(table.entries())  # as peers are told

    for what, name, other, addr in steps:
        record = records.get(name)
        if what == "ask":
            check()
        elif what == "online":
            if record is None:
                record = records[name] = Record(name, *addr, False, "t", key=key())
            record.online, record.ip, record.port = True, *addr
            changes.changed((record.entry(),), T0)
        elif record is None:
            continue
        elif what == "offline":
            record.online = False
            changes.changed((record.entry(),), T0)
        elif what == "rename" and other not in records:
            del records[name]
            record.name = other
            records[other] = record
            changes.changed((Entry(name, record.ip, 0, False), record.entry()), T0)
        elif what == "release":
            del records[name]
            changes.changed((Entry(name, record.ip, 0, False),), T0)
        elif what == "rekey":
            record.key = key()
            changes.changed((record.entry(),), T0)
    check()
