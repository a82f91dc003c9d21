"""The lines that tell of others' changes, "[Client table updated.]" (then what changed)
and "[<name> has quit]": a few at once, then one line now and then for all that came
meanwhile (wire/tally.py), so that a join storm prints no hundreds of lines. Sans-IO.
"""

from __future__ import annotations

from collections.abc import Callable

from msgspec.structs import replace

from peer.core.actions import Emit, Print
from peer.core.table import Rows, TableCopy, renames_between
from wire.messages import Notice
from wire.names import name_key
from wire.reliable import Alarm
from wire.tally import Tally

#: "[Client table updated.]" lines, and "[<name> has quit]" lines, each shown as they come
#: in a burst; beyond it, one line each LINE_EVERY seconds says what came meanwhile (the
#: changes, or those who quit, the first NAMES_SHOWN named).
LINES_BURST = 3
LINE_EVERY = 1.0
#: The line that says the table changed (docs/GUIDE.md).
TABLE_UPDATED = "[Client table updated.]"
#: More changes of one kind than this at once are said in one line.
FOLD_OVER = 3
#: The most names a folded line shows; past them a line of changes counts, and points to /who.
NAMES_SHOWN = 8
MANY_HINT = "Type /who to list everyone."


class ChangeLines:
    """How often the changes of `table` and others' quits are said, and the quits held back
    for the next line; `me` gives our own name, and `alarm` is lowered to each line held."""

    def __init__(self, table: TableCopy, me: Callable[[], str], alarm: Alarm | None = None) -> None:
        self._table_lines = Tally(LINES_BURST, LINE_EVERY)
        # the quits held back for the next line: their names, the line of the last
        self._quit_lines = Tally(LINES_BURST, LINE_EVERY, NAMES_SHOWN)
        self._table, self._me = table, me
        # name keys of those who quit since the last line: said offline already
        self._quit_said: set[str] = set()
        self._alarm = alarm or Alarm()

    def _updated(self, emit: Emit) -> None:
        """The table-updated line, and what changed since the last one: of the first
        table, who is online, as if each came then, so that the lines are the same in
        whatever order the rows came. Only the rows changed since are looked at
        (TableCopy.take_changed)."""
        emit(Print(TABLE_UPDATED, "system"))
        noted, quit_said, table = self._table.take_changed(), self._quit_said, self._table
        self._quit_said = set()
        for key in quit_said:
            noted.setdefault(key, table.row_of_key(key))
        before: Rows = {key: was for key, was in noted.items() if was is not None}
        for key in quit_said & before.keys():
            before[key] = replace(before[key], online=False)
        row_of = table.row_of_key
        after: Rows = {key: row for key in noted if (row := row_of(key)) is not None}
        for line in changes(before, after, self._me()):
            emit(Print(line, "system"))

    def table_changed(self, now: float, emit: Emit) -> None:
        """Say that the table changed: at once within the burst, else in one line at the end
        of the wait."""
        if self._table_lines.offer(now):
            self._updated(emit)
        else:
            self._alarm.lower(self._table_lines.due)

    def table_replaced(self, emit: Emit) -> None:
        """Say at once that the whole table came: it covers the changes held back."""
        self._table_lines.cancel()
        self._updated(emit)

    def someone_quit(self, notice: Notice, now: float, emit: Emit) -> None:
        """`notice` says someone quit: said at once within the burst, else held for one line
        at the end of the wait (and not said again as going offline)."""
        self._quit_said.add(name_key(notice.quitter))
        if self._quit_lines.offer(now, notice.quitter, notice.text):
            emit(Print(f"[{notice.text}]", "system"))
        else:
            self._alarm.lower(self._quit_lines.due)

    def tick(self, now: float, emit: Emit) -> None:
        """Say the lines held back whose wait is over at `now`."""
        if self._table_lines.take(now) is not None:
            # the changes held back since the last line, said in one
            self._updated(emit)
        if (quits := self._quit_lines.take(now)) is not None:
            # the quits held back: one as it came, several in one line naming the first few
            if quits.count == 1:
                emit(Print(f"[{quits.last}]", "system"))
            else:
                emit(Print(f"[{quits.count} more have quit: {quits.named(', …')}]", "system"))

    def next_wake(self) -> float | None:
        """When `tick` next has a line to say, or None."""
        dues = (self._table_lines.due, self._quit_lines.due)
        return min((due for due in dues if due is not None), default=None)


def changes(before: Rows, after: Rows, me: str) -> list[str]:
    """The lines that say what changed from `before` to `after`, but of `me`: a row gone
    and one new at its address or with its key is a rename; over FOLD_OVER, one line."""
    renames = renames_between(before, after)
    renamed_old = {name_key(old) for old, _ in renames}
    renamed_new = {name_key(new) for _, new in renames}
    skip = name_key(me)
    came = _online_only(after, before, renamed_new | {skip})
    went = _online_only(before, after, renamed_old | {skip})
    renames = [(old, new) for old, new in renames if skip not in (name_key(old), name_key(new))]
    return [
        *_said(came, "{} is online", "{} people came online"),
        *_said(went, "{} went offline", "{} people went offline"),
        *_said(
            [f"{old} is now known as {new}" for old, new in renames],
            "{}",
            "{} people changed their names",
        ),
    ]


def _online_only(rows: Rows, other: Rows, but: set[str]) -> list[str]:
    """The names online in `rows` and not in `other`, but those keyed in `but`."""
    online = {k for k, e in other.items() if e.online} | but
    return [e.name for k, e in rows.items() if e.online and k not in online]


def _said(items: list[str], one: str, many: str) -> list[str]:
    """Each of `items` in a line of its own (`one`); over FOLD_OVER, one line (`many`) that
    names them, or past NAMES_SHOWN counts them and points to the command that lists them."""
    if len(items) <= FOLD_OVER:
        return [f"[{one.format(item)}]" for item in items]
    if len(items) <= NAMES_SHOWN:
        return [f"[{many.format(len(items))}: {', '.join(items)}]"]
    return [f"[{many.format(len(items))}. {MANY_HINT}]"]
