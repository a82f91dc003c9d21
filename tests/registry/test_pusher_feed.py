"""registry/core/pushes.py and registry/core/table_feed.py alone: pushes in the order made, and the
table's changes pushed to every online peer."""

from __future__ import annotations

import pytest

from registry.core import actions as ra
from registry.core.pushes import Pushes
from tests.registry.parts_helpers import T0, record, sent, services
from wire.codec import decode, encode
from wire.messages import Notice, TableSnapshot, TableUpdate


def test_a_push_unacked_is_sent_again_then_given_up_in_order() -> None:
    s = services(timing=(0.5, 2))
    bob = record(s, "bob", 7002)
    out: list[ra.Action] = []
    s.pushes.push((bob,), Notice("r-a", "one"), "notice", T0, out.append)
    s.pushes.push((bob,), Notice("r-b", "two"), "notice", T0, out.append)
    assert [m.id for _, m in sent(out)] == ["r-a", "r-b"] and sum(s.pushes.counts()) == 2
    again: list[ra.Action] = []
    assert s.pushes.retry(T0 + 0.5, again.append) == [] and len(sent(again)) == 2
    failed = s.pushes.retry(T0 + 1.0, [].append)
    assert [f.message.id for _, _, f in failed] == ["r-a", "r-b"] and sum(s.pushes.counts()) == 0


def test_an_ack_answers_its_push_and_names_its_owner() -> None:
    s = services()
    bob = record(s, "Bob", 7002)
    s.pushes.push((bob,), Notice("r-a", "one"), "notice", T0, [].append)
    owner, answered = s.pushes.clear_acked(["r-a", "nothing"], bob.addr, T0)
    assert owner == "bob" and [f.message.id for f in answered] == ["r-a"]


def test_dropped_pushes_come_back_oldest_first() -> None:
    s = services()
    bob = record(s, "bob", 7002)
    for i in range(3):
        s.pushes.push((bob,), Notice(f"r-{i}", "x"), "notice", T0, [].append)
    assert [f.message.id for _, _, f in s.pushes.drop_all(bob.addr)] == ["r-0", "r-1", "r-2"]


def test_pushes_need_time_and_tries() -> None:
    with pytest.raises(ValueError):
        Pushes(0.0, 5)


def test_a_change_is_saved_then_pushed_to_the_online_peers() -> None:
    s = services()
    bob = record(s, "bob", 7002)
    record(s, "carol", 7003, online=False)
    out: list[ra.Action] = []
    s.feed.changed(bob, T0, out.append)
    assert isinstance(out[0], ra.SaveTable)
    updates = [(addr, m) for addr, m in sent(out) if isinstance(m, TableUpdate)]
    assert [addr for addr, _ in updates] == [bob.addr]  # carol is offline
    assert updates[0][1].entries == (bob.entry(),)


def test_changes_close_together_are_held_and_go_out_together() -> None:
    s = services()
    bob, carol = record(s, "bob", 7002), record(s, "carol", 7003)
    first: list[ra.Action] = []
    s.feed.changed(bob, T0, first.append)
    for addr, update in sent(first):  # acked: the next push goes to each on its own
        assert s.feed.acked([update.id], addr, T0, [].append)
    held: list[ra.Action] = []
    s.feed.changed(carol, T0 + 0.001, held.append)
    assert sent(held) == []
    flush_at = s.feed.flush_at
    assert flush_at is not None and flush_at > T0 + 0.001  # held, due later
    out: list[ra.Action] = []
    s.feed.push_changes(flush_at, out.append)
    assert {m.entries for _, m in sent(out)} == {(carol.entry(),)}


def test_a_peer_held_back_is_pushed_every_row_changed_meanwhile_once_released() -> None:
    # A peer held back (about to be told the registry is back) is pushed nothing; released,
    # it is pushed every row changed since the version it holds, in one update, once.
    s = services()
    bob, carol, dave = record(s, "bob", 7002), record(s, "carol", 7003), record(s, "dave", 7004)
    held_at = s.table.version
    s.feed.hold([carol, dave])
    out: list[ra.Action] = []
    s.feed.changed(bob, T0, out.append)
    s.feed.changed(dave, T0 + 1, out.append)  # (bob's push unacked: his ack brings it)
    assert [addr for addr, m in sent(out) if isinstance(m, TableUpdate)] == [bob.addr]
    released: list[ra.Action] = []
    s.feed.resume([carol], T0 + 2, released.append)
    [(addr, update)] = sent(released)
    assert addr == carol.addr and isinstance(update, TableUpdate)
    assert (update.start(), update.version) == (held_at, s.table.version)
    assert update.entries == (bob.entry(), dave.entry())
    nothing: list[ra.Action] = []
    s.feed.resume([carol], T0 + 3, nothing.append)  # (released already: nothing twice)
    assert sent(nothing) == []
    later: list[ra.Action] = []
    s.feed.changed(carol, T0 + 10, later.append)  # dave, still held, gets nothing
    assert {addr for addr, _ in sent(later)} == set()  # (bob's and carol's pushes unacked)
    s.feed.acked([update.id], carol.addr, T0 + 10.1, later.append)
    assert [addr for addr, _ in sent(later)] == [carol.addr]


def test_a_snapshot_holds_the_table_at_its_version() -> None:
    s = services()
    bob = record(s, "bob", 7002)
    snapshot = decode(encode(s.feed.snapshot("q-1")))  # (its rows are encoded once)
    assert isinstance(snapshot, TableSnapshot)
    assert (snapshot.reply_to, snapshot.version, snapshot.entries) == (
        "q-1",
        s.table.version,
        (bob.entry(),),
    )
