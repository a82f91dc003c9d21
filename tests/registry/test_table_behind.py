"""A peer behind is pushed what changed since the version its keepalive says; the whole
table goes only when asked, over TCP when it cannot fit a datagram."""

from __future__ import annotations

import pytest

from registry.core import table_feed
from registry.core.dispatch import RegistryCore
from registry.core.table import Record
from registry.core.table_feed import COALESCE, TableFeed
from tests.registry.core_helpers import T0, X, Y, Z, core, register, run_until, sends
from wire.codec import decode, encode, fits_datagram
from wire.messages import (
    Alive,
    Keepalive,
    Register,
    TableRequest,
    TableSnapshot,
    TableUpdate,
    TooBig,
)
from wire.version import WIRE_VERSION


def _big(reg: RegistryCore) -> None:
    """Offline records, enough that the whole table cannot fit a datagram."""
    for i in range(table_feed.WELCOME_ROWS + 1):
        reg.table.records[f"p{i}"] = Record(f"p{i}", "10.0.0.1", 7000 + i, False, f"{i:032x}")


def _answer(reg: RegistryCore, request: TableRequest, now: float) -> object:
    """The one answer to `request`, asked by datagram from X, as the peer decodes it."""
    [(addr, answer)] = [(a, m) for a, m in sends(reg.receive(request, X, now, datagram=True))]
    assert addr == X
    return decode(encode(answer))


def test_a_peer_behind_a_big_table_is_pushed_what_changed_since_its_version() -> None:
    # In a join storm of 5,000 every peer that missed a push asked for the whole table again
    # (7,754 whole tables, 2.8 GB a crowd process): its keepalive says its version, and the
    # rows since it fit a datagram.
    reg = core()
    _big(reg)
    token = register(reg, "x", X).token
    reg.receive(TableRequest("x-t1"), X, T0 + 1)  # (its Welcome had no rows)
    held = reg.table.version
    later = T0 + 10  # the registry idle meanwhile: each registration pushed at once
    reg.receive(Register("y-reg", "y", Y[1], "", "", WIRE_VERSION), Y, later)
    reg.receive(Register("z-reg", "z", Z[1], "", "", WIRE_VERSION), Z, later + COALESCE)
    run_until(reg, later + 20)  # x acked none of it: given up
    out = sends(reg.receive(Keepalive("x-k1", "x", token, held), X, later + 20))
    [update] = [m for a, m in out if a == X and isinstance(m, TableUpdate)]
    assert update.start() == held and update.version == reg.table.version > held + 1
    assert [e.name for e in update.entries] == ["y", "z"] and fits_datagram(encode(update))
    assert [m.version for _, m in out if isinstance(m, Alive)] == [held]


def test_a_whole_table_is_sent_over_tcp_and_answered_too_big_by_datagram() -> None:
    reg = core()
    _big(reg)
    reg.table.version = 100
    register(reg, "x", X)
    assert isinstance(_answer(reg, TableRequest("t-1"), T0 + 1), TooBig)
    [(_, snapshot)] = sends(reg.receive(TableRequest("t-2"), X, T0 + 1))
    assert isinstance(snapshot, TableSnapshot) and snapshot.version == reg.table.version
    assert len(decode(encode(snapshot)).entries) == len(reg.table.records)  # type: ignore[attr-defined]


@pytest.mark.needs_pure  # counts calls to a method of the feed, which compiled code makes in C
def test_a_whole_table_too_big_for_a_datagram_is_counted_not_encoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every newcomer of a join storm asks by datagram first: encoding the whole table to
    # answer TooBig cost the registry a table's encoding for each of them, at each version.
    reg = core()
    _big(reg)
    register(reg, "x", X)
    built: list[int] = []
    whole = TableFeed.snapshot

    def counted(feed: TableFeed, reply_to: str) -> TableSnapshot:
        built.append(1)
        return whole(feed, reply_to)

    monkeypatch.setattr(TableFeed, "snapshot", counted)
    assert isinstance(_answer(reg, TableRequest("t-1"), T0 + 1), TooBig)
    assert built == []
    sends(reg.receive(TableRequest("t-2"), X, T0 + 1))  # over TCP: built, once
    assert built == [1]
