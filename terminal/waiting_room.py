"""The help desk's waiting room as the full screen's side pane shows it, to the registry's
console and to an operator alike: each person's position, name and wait (counted on between
two looks at the desk), their topic below, and marks for danger and a lost connection."""

from __future__ import annotations

from collections.abc import Sequence

from terminal.screen_model import Parts
from wire.desk.messages import RoomRow
from wire.desk.text import DANGER_MARK, format_duration, topic_label
from wire.shown_text import clean

#: Columns of the pane, its border included: a name, a wait and a topic on two rows.
ROOM_WIDTH = 30


class WaitingRoom:
    """The rows the desk last gave (`update`), and when: each wait goes on from there."""

    def __init__(self) -> None:
        self.rows: tuple[RoomRow, ...] = ()
        self._at = 0.0
        #: Whether the desk has said anything yet (else the pane says it has not).
        self.known = False

    def update(self, rows: Sequence[RoomRow], now: float) -> None:
        self.rows, self._at, self.known = tuple(rows), now, True

    def forget(self) -> None:
        """Nothing known any more (the desk is not answering)."""
        self.rows, self.known = (), False

    def parts(self, now: float, *, colour: bool) -> Parts:
        """The pane: a heading with the count, then two rows a person."""
        if not self.known:
            return [("bold", "Waiting room\n"), ("ansibrightblack", " not known yet\n")]
        parts: Parts = [("bold", f"Waiting: {len(self.rows)}\n")]
        if not self.rows:
            parts.append(("ansibrightblack", " nobody\n"))
        danger = "ansired bold" if colour else "bold"
        for position, row in enumerate(self.rows, 1):
            waited = format_duration(row.waited + max(0.0, now - self._at))
            mark = f"{DANGER_MARK} " if row.crisis else ""
            parts += [
                ("", f"{position:>2}. "),
                (danger, mark),
                ("bold" if row.connected else "ansibrightblack", clean(row.name)),
                ("", f" {waited}\n"),
            ]
            away = "" if row.connected else " (away)"
            kept = f" (for {clean(row.kept_for)})" if row.kept_for else ""
            parts.append(("ansibrightblack", f"    {topic_label(row.topic)}{away}{kept}\n"))
        return parts
