"""The lines that say what changed in the table (peer.core.change_lines), on their own: said
from the rows changed since the last line, never from the whole table."""

from __future__ import annotations

from peer.core.actions import Action, Print
from peer.core.change_lines import TABLE_UPDATED, ChangeLines
from peer.core.table import Table
from wire.messages import Entry, Notice, TableUpdate

T0 = 100.0


def row(name: str, port: int, online: bool = True) -> Entry:
    return Entry(name, "127.0.0.1", port, online)


def said(lines: ChangeLines, now: float = T0) -> list[str]:
    out: list[Action] = []
    lines.table_changed(now, out.append)
    return [a.text for a in out if isinstance(a, Print)]


def started(*rows: Entry) -> tuple[Table, ChangeLines]:
    table, lines = Table(), ChangeLines()
    lines.follow(table, lambda: "alice")
    table.replace(1, (row("alice", 6001), *rows), ())
    lines.table_replaced(lambda action: None)  # the first table: nothing said of it
    return table, lines


def test_the_first_table_is_the_start_and_then_changes_are_said() -> None:
    table, lines = started(row("bob", 6002))
    table.apply(TableUpdate("u-2", 2, (row("bob", 6002, False), row("carol", 6003))), "alice")
    assert said(lines) == [TABLE_UPDATED, "[carol is online]", "[bob went offline]"]


def test_a_big_table_is_not_gone_through_for_each_line() -> None:
    table, lines = started(*(row(f"p{n}", 7000 + n) for n in range(2000)))

    class Counted(dict[str, Entry]):
        looks = 0

        def values(self):  # type: ignore[no-untyped-def]
            Counted.looks += 1
            return super().values()

        def items(self):  # type: ignore[no-untyped-def]
            Counted.looks += 1
            return super().items()

        def __iter__(self):  # type: ignore[no-untyped-def]
            Counted.looks += 1
            return super().__iter__()

    table._rows = Counted(table._rows)
    table.apply(TableUpdate("u-2", 2, (row("dave", 6004),)), "alice")
    assert said(lines) == [TABLE_UPDATED, "[dave is online]"]
    assert Counted.looks == 0


def test_who_quit_is_not_said_offline_again_when_the_table_says_so() -> None:
    table, lines = started(row("bob", 6002))
    out: list[Action] = []
    lines.someone_quit(Notice("q-1", "bob has quit", "bob"), T0, out.append)
    assert [a.text for a in out if isinstance(a, Print)] == ["[bob has quit]"]
    table.apply(TableUpdate("u-2", 2, (row("bob", 6002, False),)), "alice")
    assert said(lines) == [TABLE_UPDATED]
