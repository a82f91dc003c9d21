"""The lines that tell of others' changes, "[Client table updated.]" and "[<name> has quit]",
folded when they come in bursts (see peer.core.line_budget). Each "[Client table updated.]" is
followed by what changed since the last one (peer.core.who_changed): `[bob is online]`. Sans-IO:
the caller passes `now` and an `emit` that is handed the Print actions, and wakes at
`next_wake`.
"""

from __future__ import annotations

from collections.abc import Callable

from peer.core.actions import Emit, Print
from peer.core.line_budget import LineBudget
from peer.core.table import Table
from peer.core.who_changed import Rows, changes
from wire.messages import Notice
from wire.names import name_key
from wire.reliable import Alarm

#: "[Client table updated.]" lines shown as they come, in a burst; beyond that, changes
#: that come meanwhile are said in one line each TABLE_LINE_EVERY seconds. A join storm,
#: or a flood of names, would otherwise print a line per change (hundreds), while a
#: person starting or stopping now and then is still told at once (see LineBudget).
TABLE_LINES_BURST = 3
TABLE_LINE_EVERY = 1.0
#: The same for "[<name> has quit]": a class of scripted peers ending together would fill
#: every screen. Beyond the burst, one line each QUIT_LINE_EVERY seconds names those who
#: quit meanwhile (the first QUIT_NAMES_SHOWN of them: `who` lists everyone).
QUIT_LINES_BURST = 3
QUIT_LINE_EVERY = 1.0
QUIT_NAMES_SHOWN = 8
#: The line that says the table changed (docs/GUIDE.md).
TABLE_UPDATED = "[Client table updated.]"


class ChangeLines:
    """How often the table's changes and others' quits are said, and the quits held back
    for the next line."""

    def __init__(self) -> None:
        self._table_lines = LineBudget(TABLE_LINES_BURST, TABLE_LINE_EVERY)
        self._quit_lines = LineBudget(QUIT_LINES_BURST, QUIT_LINE_EVERY)
        # the quits held back for the next line: (name, line for it alone)
        self._quits_held: list[tuple[str, str]] = []
        self._table = Table()
        self._me: Callable[[], str] = str
        self._started = False  # whether a line was said: the first table is the start
        # name keys of those who quit since the last line: said offline already
        self._quit_said: set[str] = set()
        self._alarm = Alarm()

    def wake_by(self, alarm: Alarm) -> None:
        """The alarm each line held back lowers (the core's: PeerCore.next_wake)."""
        self._alarm = alarm

    def follow(self, table: Table, me: Callable[[], str]) -> None:
        """The table whose changes are said, and where our own name is."""
        self._table, self._me = table, me

    def _updated(self, emit: Emit) -> None:
        """The table-updated line, and what changed since the last one (the first table
        is the start: nothing is said of it beyond the line). Only the rows changed since
        are looked at (peer.core.table.Table.take_changed): in a join storm, a line a second
        would otherwise go through the whole table each time."""
        emit(Print(TABLE_UPDATED, "system"))
        noted, quit_said, table = self._table.take_changed(), self._quit_said, self._table
        self._quit_said = set()
        if not self._started:
            self._started = True
            return
        for key in quit_said:
            noted.setdefault(key, table.row_of_key(key))
        before: Rows = {}
        after: Rows = {}
        for key, was in noted.items():
            if was is not None:
                before[key] = was._replace(online=False) if key in quit_said else was
            now_row = table.row_of_key(key)
            if now_row is not None:
                after[key] = now_row
        for line in changes(before, after, self._me()):
            emit(Print(line, "system"))

    def table_changed(self, now: float, emit: Emit) -> None:
        """Say that the table changed: at once while within TABLE_LINES_BURST, else in one
        line at the end of the wait, for every change that comes meanwhile."""
        if self._table_lines.take(now):
            self._updated(emit)
        else:
            self._alarm.lower(self._table_lines.due)

    def table_replaced(self, emit: Emit) -> None:
        """Say at once that the whole table came: it covers the changes held back."""
        self._table_lines.cancel()
        self._updated(emit)

    def someone_quit(self, notice: Notice, now: float, emit: Emit) -> None:
        """`notice` says someone quit: said at once while within QUIT_LINES_BURST, else
        held for one line at the end of the wait, with every quit that comes meanwhile.
        The quitter going offline is then not said again when the table says it."""
        if self._started:
            self._quit_said.add(name_key(notice.quitter))
        if self._quit_lines.take(now):
            emit(Print(f"[{notice.text}]", "system"))
        else:
            self._quits_held.append((notice.quitter, notice.text))
            self._alarm.lower(self._quit_lines.due)

    def tick(self, now: float, emit: Emit) -> None:
        """Say the lines held back whose wait is over at `now`."""
        if self._table_lines.fire(now):
            # the changes held back since the last line, said in one
            self._updated(emit)
        if self._quit_lines.fire(now):
            self._say_quits_held(emit)

    def next_wake(self) -> float | None:
        """When `tick` next has a line to say, or None."""
        table, quits = self._table_lines.due, self._quit_lines.due
        if table is None or (quits is not None and quits < table):
            return quits
        return table

    def _say_quits_held(self, emit: Emit) -> None:
        """The quits held back since the last line: one alone as it came (farewell and all),
        several in one line naming the first QUIT_NAMES_SHOWN of them."""
        held, self._quits_held = self._quits_held, []
        if len(held) == 1:
            emit(Print(f"[{held[0][1]}]", "system"))
        elif held:
            names = [name for name, _ in held[:QUIT_NAMES_SHOWN]]
            if len(held) > QUIT_NAMES_SHOWN:
                names.append("…")
            emit(Print(f"[{len(held)} more have quit: {', '.join(names)}]", "system"))
