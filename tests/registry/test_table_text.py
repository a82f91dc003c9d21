"""table.json's text, each row encoded again only when its record changed: the same text as
written whole, after every kind of change."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from registry.adapter import store
from registry.adapter.store import Rows, table_text
from registry.core import table as table_module
from registry.core.table import Record, Table
from wire.messages import Entry


def _table(count: int) -> Table:
    table = Table()
    for i in range(count):
        table.records[f"p{i}"] = Record(f"p{i}", "127.0.0.1", 6000 + i, True, f"tok{i}")
    return table


def _encoded_rows(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the rows encoded from now on, in order."""
    encoded: list[str] = []
    real = table_module.row_json

    def counted(r: Record, former: list[str] | None) -> dict[str, Any]:
        encoded.append(r.name)
        return real(r, former)

    monkeypatch.setattr(store, "row_json", counted)
    return encoded


def test_the_text_from_kept_rows_is_the_text_written_whole_after_each_change() -> None:
    table, rows = _table(4), Rows()
    changes: list[Callable[[], Any]] = [
        lambda: None,
        lambda: setattr(table.records["p0"], "online", False),
        lambda: table.records["p1"].wrote("p2"),  # a list changed in place
        lambda: table.records["p1"].wrote("p3"),
        lambda: setattr(table.records["p2"], "room", "lobby"),
        lambda: table.former.update({"old": "p3"}),  # a rename, kept outside the record
        lambda: table.records.pop("p0"),
        lambda: table.records.update({"p9": Record("p9", "127.0.0.2", 7000, True, "t")}),
        lambda: table.unpushed.update({"p9": Entry("p9", "127.0.0.2", 7000, True, "")}),
        lambda: setattr(table, "version", table.version + 1),
    ]
    for change in changes:
        change()
        text = table_text(table, rows)
        assert text == table_text(table)
        assert json.loads(text) == table.to_json()


def test_a_commit_encodes_only_the_rows_changed_since_the_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    encoded = _encoded_rows(monkeypatch)
    table, rows = _table(1000), Rows()
    table_text(table, rows)
    assert len(encoded) == 1000
    encoded.clear()
    table.records["p7"].online = False
    table.records["p8"].wrote("p1")
    table_text(table, rows)
    assert encoded == ["p7", "p8"]


def test_with_the_rows_named_only_those_and_renamed_ones_are_looked_at(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a join storm's commit names the few rows it changed: the others are not even compared
    encoded = _encoded_rows(monkeypatch)
    table, rows = _table(1000), Rows()
    table.former["old"] = "p5"  # p5 was "old"
    table_text(table, rows, None)
    encoded.clear()
    table.records["p7"].online = False
    table.records["p8"].online = False  # changed, named by no SaveTable: not looked at
    table.name_taken("old")  # someone took "old": p5's row changes, named or not
    text = table_text(table, rows, {"p7", "p9"})
    assert sorted(encoded) == ["p5", "p7"]
    table.records["p8"].online = True  # as written: the text is the table's again
    assert text == table_text(table)
