"""The waiting room's pane, pure: a wait counts on from the desk's last look."""

from __future__ import annotations

from terminal.waiting_room import WaitingRoom
from wire.desk.messages import RoomRow


def text(room: WaitingRoom, now: float) -> str:
    return "".join(part for _, part in room.parts(now, colour=False))


def test_a_wait_counts_on_between_two_looks_and_marks_are_shown() -> None:
    room = WaitingRoom()
    assert "not known yet" in text(room, 0.0)
    room.update([RoomRow("Tom", 4, "***43", 58, False, "", "ann", 30)], now=100.0)
    assert text(room, 105.0).splitlines() == [
        "Waiting: 1",
        " 1. Tom 1 min 03 s",
        "    4 Suggestion for Abroad Studies (away) (for ann)",
    ]
    room.update([], now=106.0)
    assert text(room, 106.0).splitlines() == ["Waiting: 0", " nobody"]
