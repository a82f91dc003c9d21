"""registry/core/table_feed.py alone: rows held and pushed together, cut to fit a datagram,
peers held back, snapshots, and the views of the table kept until its next change."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.core import actions as ra
from registry.core.table import Record, Table
from registry.core.table_feed import COALESCE, fitting
from tests.registry import parts_helpers as ph
from tests.registry.parts_helpers import sent, services
from wire.codec import decode, encode
from wire.keys import key_from_text, key_text
from wire.limits import MAX_DATAGRAM, MAX_ID
from wire.messages import Entry, TableSnapshot, TableUpdate

T0 = 1_700_000_000.0


def table_of(*records: Record) -> Table:
    table = Table()
    for record in records:
        table.records[record.name.casefold()] = record
    return table


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


def pushed(out: list[ra.Action]) -> list[tuple[list[Record], TableUpdate]]:
    """Each update the actions send, with the records of the addresses it goes to."""
    found: dict[str, tuple[list[Record], TableUpdate]] = {}
    for addr, message in sent(out):
        if isinstance(message, TableUpdate):
            found.setdefault(message.id, ([], message))[0].append(addr)
    return list(found.values())  # type: ignore[arg-type]


def test_changes_go_at_once_when_idle_and_together_within_coalesce() -> None:
    x = Record("x", "10.0.0.1", 7000, True, "t")
    y = Record("y", "10.0.0.2", 7000, True, "t")
    table = table_of(x, y)
    feed = services(table).feed
    out: list[ra.Action] = []
    feed.changed(x, T0, out.append)  # idle: saved, then pushed now
    assert isinstance(out[0], ra.SaveTable)
    assert [(u.entries, to) for to, u in pushed(out)] == [((x.entry(),), [x.addr, y.addr])]
    assert table.version == 1 and feed.flush_at is None
    for record in (x, y):
        feed.acked([pushed(out)[0][1].id], record.addr, T0, [].append)
    # within COALESCE of that push: held, and what follows joins them, each row once
    out.clear()
    feed.changed(y, T0 + COALESCE / 2, out.append)
    assert pushed(out) == [] and feed.flush_at == T0 + COALESCE
    y.online = False
    feed.changed(x, T0 + COALESCE / 2, out.append, rows=(y.entry(), x.entry()))
    feed.push_changes(T0 + COALESCE, out.append)
    [(to, update)] = pushed(out)
    assert update.entries == (y.entry(), x.entry()) and update.version == 2 and to == [x.addr]
    assert feed.flush_at is None


def test_a_released_online_peer_hears_the_push_of_it_at_once_and_no_more() -> None:
    x = Record("x", "10.0.0.1", 7000, True, "t")
    gone = Record("gone", "10.0.0.2", 7000, True, "t")
    feed = services(table_of(x)).feed
    out: list[ra.Action] = []
    feed.changed(x, T0, out.append)
    feed.acked([pushed(out)[0][1].id], x.addr, T0, [].append)
    out.clear()
    feed.released(gone, T0 + COALESCE / 2, out.append)  # not held: pushed at once
    [(to, update)] = pushed(out)
    assert update.entries == (Entry("gone", gone.ip, 0, False),) and to == [x.addr, gone.addr]
    for addr in to:
        feed.acked([update.id], addr, T0 + 1, [].append)
    out.clear()
    feed.changed(x, T0 + 1, out.append)
    assert [to for to, _ in pushed(out)] == [[x.addr]]


def test_a_released_peer_s_key_is_used_at_its_address_until_another_is_online_there() -> None:
    gone = Record("gone", "10.0.0.2", 7000, True, "t", key=key_text(b"g" * 32))
    table = table_of()
    feed = services(table).feed
    feed.released(gone, T0, [].append)
    assert feed.key_at(gone.addr) == b"g" * 32
    new = table.records["new"] = Record("new", *gone.addr, True, "t", key=key_text(b"n" * 32))
    feed.changed(new, T0, [].append)
    assert feed.key_at(gone.addr) == b"n" * 32


@pytest.mark.needs_pure  # the kept audience is the same object: compiled code boxes it anew
def test_the_roster_the_audience_and_the_address_index_follow_each_change() -> None:
    x = Record("x", "10.0.0.1", 7000, True, "t")
    y = Record("y", "10.0.0.2", 7000, False, "t")
    table = table_of(x, y)
    feed = services(table).feed
    roster = feed.roster()
    assert roster[0][:2] == (("x",), (x.addr,)) and roster[1] == [y] and roster[0][3]
    assert feed.roster() == roster and feed.audience("x") is feed.audience("x")  # kept
    assert feed.online_at(x.addr) == [x] and feed.online_at(y.addr) == []
    assert feed.audience("x")[:2] == ((), ())
    y.online = True
    feed.changed(y, T0, [].append)
    assert feed.roster()[0][:2] == (("x", "y"), (x.addr, y.addr))
    assert feed.audience("x")[:2] == (("y",), (y.addr,))
    assert feed.online_at(y.addr) == [y]


def test_a_peer_held_back_is_pushed_every_row_changed_meanwhile_once_released() -> None:
    # A peer held back (about to be told the registry is back) is pushed nothing; released,
    # it is pushed every row changed since the version it holds, in one update, once.
    s = services()
    bob, carol = ph.record(s, "bob", 7002), ph.record(s, "carol", 7003)
    dave = ph.record(s, "dave", 7004)
    held_at = s.table.version
    s.watch.held = held = {carol.addr, dave.addr}
    out: list[ra.Action] = []
    s.feed.changed(bob, T0, out.append)
    s.feed.changed(dave, T0 + 1, out.append)  # (bob's push unacked: his ack brings it)
    assert [addr for addr, m in sent(out) if isinstance(m, TableUpdate)] == [bob.addr]
    released: list[ra.Action] = []
    held.remove(carol.addr)
    s.watch.resume([carol.addr], T0 + 2, released.append)
    [(addr, update)] = sent(released)
    assert addr == carol.addr and isinstance(update, TableUpdate)
    assert (update.start(), update.version) == (held_at, s.table.version)
    assert update.entries == (bob.entry(), dave.entry())
    nothing: list[ra.Action] = []
    s.watch.resume([carol.addr], T0 + 3, nothing.append)  # (released already: nothing twice)
    assert sent(nothing) == []
    later: list[ra.Action] = []
    s.feed.changed(carol, T0 + 10, later.append)  # dave, still held, gets nothing
    assert {addr for addr, _ in sent(later)} == set()  # (bob's and carol's pushes unacked)
    s.feed.acked([update.id], carol.addr, T0 + 10.1, later.append)
    assert [addr for addr, _ in sent(later)] == [carol.addr]


def test_a_snapshot_holds_the_table_at_its_version() -> None:
    s = services()
    bob = ph.record(s, "bob", 7002)
    snapshot = decode(encode(s.feed.snapshot("q-1")))  # (its rows are encoded once)
    assert isinstance(snapshot, TableSnapshot)
    assert (snapshot.reply_to, snapshot.version, snapshot.entries) == (
        "q-1",
        s.table.version,
        (bob.entry(),),
    )


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
    feed = services(table).feed
    records = table.records

    def check() -> None:
        for addr in _ADDRS:
            expected = {r.name for r in table.online() if r.addr == addr}
            assert {r.name for r in feed.online_at(addr)} == expected
            there = {key_from_text(r.key) for r in table.online() if r.addr == addr}
            assert feed.key_at(addr) in (there or {b""})
        assert sorted(feed.entries()) == sorted(table.entries())  # as peers are told

    for what, name, other, addr in steps:
        record = records.get(name)
        if what == "ask":
            check()
        elif what == "online":
            if record is None:
                record = records[name] = Record(name, *addr, False, "t", key=key())
            record.online, record.ip, record.port = True, *addr
            feed.changed(record, T0, [].append)
        elif record is None:
            continue
        elif what == "offline":
            record.online = False
            feed.changed(record, T0, [].append)
        elif what == "rename" and other not in records:
            del records[name]
            record.name = other
            records[other] = record
            feed.changed(
                record, T0, [].append, rows=(Entry(name, record.ip, 0, False), record.entry())
            )
        elif what == "release":
            del records[name]
            feed.changed(record, T0, [].append, rows=(Entry(name, record.ip, 0, False),))
        elif what == "rekey":
            record.key = key()
            feed.changed(record, T0, [].append)
    check()
