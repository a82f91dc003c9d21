"""The lines that say what changed in the table (peer.core.change_lines), on their own: said
from the rows changed since the last line, never from the whole table."""

from __future__ import annotations

from collections.abc import Iterator, ValuesView

import pytest

from peer.core.actions import Action, Print
from peer.core.change_lines import TABLE_UPDATED, ChangeLines
from peer.core.table import TableCopy
from wire.messages import Entry, Notice, TableUpdate

T0 = 100.0


def row(name: str, port: int, online: bool = True) -> Entry:
    return Entry(name, "127.0.0.1", port, online)


def said(lines: ChangeLines, now: float = T0) -> list[str]:
    out: list[Action] = []
    lines.table_changed(now, out.append)
    return [a.text for a in out if isinstance(a, Print)]


def started(*rows: Entry) -> tuple[TableCopy, ChangeLines]:
    table = TableCopy()
    lines = ChangeLines(table, lambda: "alice")
    table.replace(1, (row("alice", 6001), *rows), ())
    lines.table_replaced(lambda action: None)  # the first table (said: see below)
    return table, lines


def test_the_first_table_says_who_is_online_as_an_update_would() -> None:
    table = TableCopy()
    lines = ChangeLines(table, lambda: "alice")
    table.replace(1, (row("alice", 6001), row("bob", 6002), row("carol", 6003, False)), ())
    out: list[Action] = []
    lines.table_replaced(out.append)
    assert [a.text for a in out if isinstance(a, Print)] == [TABLE_UPDATED, "[bob is online]"]


def test_after_the_first_table_changes_are_said() -> None:
    table, lines = started(row("bob", 6002))
    table.apply(TableUpdate("u-2", 2, (row("bob", 6002, False), row("carol", 6003))), "alice")
    assert said(lines) == [TABLE_UPDATED, "[carol is online]", "[bob went offline]"]


class Watched(TableCopy):
    """A table that counts the reads that go through all its rows."""

    looks = 0

    def __iter__(self) -> Iterator[str]:
        self.looks += 1
        return super().__iter__()

    def rows(self) -> ValuesView[Entry]:
        self.looks += 1
        return super().rows()

    def online_names(self) -> list[str]:
        self.looks += 1
        return super().online_names()


@pytest.mark.needs_pure  # a subclass of Table counts its reads: compiled, it cannot be subclassed
def test_a_big_table_is_not_gone_through_for_each_line() -> None:
    table = Watched()
    lines = ChangeLines(table, lambda: "alice")
    table.replace(1, tuple(row(f"p{n}", 7000 + n) for n in range(2000)), ())
    lines.table_replaced(lambda action: None)
    table.looks = 0
    table.apply(TableUpdate("u-2", 2, (row("dave", 6004),)), "alice")
    assert said(lines) == [TABLE_UPDATED, "[dave is online]"]
    assert table.looks == 0


def test_who_quit_is_not_said_offline_again_when_the_table_says_so() -> None:
    table, lines = started(row("bob", 6002))
    out: list[Action] = []
    lines.someone_quit(Notice("q-1", "bob has quit", "bob"), T0, out.append)
    assert [a.text for a in out if isinstance(a, Print)] == ["[bob has quit]"]
    table.apply(TableUpdate("u-2", 2, (row("bob", 6002, False),)), "alice")
    assert said(lines) == [TABLE_UPDATED]
