"""The registry answers a TableRequest from a version with what changed since it, and with
the whole table only when its log of updates no longer reaches back that far."""

from __future__ import annotations

import pytest

from registry.core import table_feed
from registry.core.dispatch import RegistryCore
from registry.core.table import Record
from registry.core.table_changes import COALESCE, TableChanges
from tests.registry.core_helpers import T0, X, Y, Z, core, register, run_until, sends
from wire.codec import decode, encode, fits_datagram
from wire.messages import Entry, Register, TableRequest, TableSnapshot, TooBig
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


def test_a_peer_behind_a_big_table_is_sent_what_changed_since_its_version() -> None:
    # In a join storm of 5,000 every peer that missed a push asked for the whole table again
    # (7,754 whole tables, 2.8 GB a crowd process): the rows since its version fit a datagram.
    reg = core()
    _big(reg)
    register(reg, "x", X)
    held = reg.table.version
    later = T0 + 10  # the registry idle meanwhile: each registration pushed at once
    reg.receive(Register("y-reg", "y", Y[1], "", "", WIRE_VERSION), Y, later)
    reg.receive(Register("z-reg", "z", Z[1], "", "", WIRE_VERSION), Z, later + COALESCE)
    run_until(reg, later + 1)
    answer = _answer(reg, TableRequest("t-1", since=held), later + 1)
    assert isinstance(answer, TableSnapshot) and answer.since == held
    assert answer.version == reg.table.version > held + 1
    assert [e.name for e in answer.entries] == ["y", "z"] and answer.aliases == ()
    assert fits_datagram(encode(answer))
    # up to date: nothing changed since
    answer = _answer(reg, TableRequest("t-2", since=reg.table.version), later + 1)
    assert isinstance(answer, TableSnapshot) and answer.entries == ()


def test_a_version_the_log_does_not_reach_gets_the_whole_table() -> None:
    reg = core()
    _big(reg)
    reg.table.version = 100  # as loaded at a start: the updates before it are not held
    register(reg, "x", X)
    for since in (-1, 50, reg.table.version + 5):  # none held; before the log; not ours
        answer = _answer(reg, TableRequest(f"t{since}", since=since), T0 + 1)
        assert isinstance(answer, TooBig)  # the whole table: over TCP
    over_tcp = sends(reg.receive(TableRequest("t-9", since=50), X, T0 + 1))
    [(_, snapshot)] = over_tcp
    assert isinstance(snapshot, TableSnapshot) and snapshot.since == -1
    assert len(decode(encode(snapshot)).entries) == len(reg.table.records)  # type: ignore[attr-defined]


def test_a_whole_table_too_big_for_a_datagram_is_counted_not_encoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every newcomer of a join storm asks by datagram first: encoding the whole table to
    # answer TooBig cost the registry a table's encoding for each of them, at each version.
    reg = core()
    _big(reg)
    register(reg, "x", X)
    built: list[int] = []
    rows = TableChanges.snapshot_rows

    def counted(changes: TableChanges) -> tuple[Entry, ...]:
        built.append(1)
        return rows(changes)

    monkeypatch.setattr(TableChanges, "snapshot_rows", counted)
    assert isinstance(_answer(reg, TableRequest("t-1"), T0 + 1), TooBig)
    assert built == []
    sends(reg.receive(TableRequest("t-2"), X, T0 + 1))  # over TCP: built, once
    assert built == [1]
