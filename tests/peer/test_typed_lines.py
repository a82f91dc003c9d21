"""TypedLines: the lines that wait for the first Welcome, or for a change on its way."""

from __future__ import annotations

from peer.core import actions as pa
from peer.core.shared import TypedLines


def test_lines_typed_before_the_welcome_come_back_in_order_once() -> None:
    lines = TypedLines()
    lines.hold_early("who")
    assert not lines.ended_early()
    lines.hold_early(None)
    assert lines.ended_early()
    assert lines.take_early() == ["who", None]
    assert lines.take_early() == []


def test_a_failed_start_says_each_typed_line_not_carried_out() -> None:
    lines = TypedLines()
    for text in ("send bob hi", "  ", None):
        lines.hold_early(text)
    out: list[pa.Action] = []
    lines.drop_early(out.append)
    assert out == [pa.Print("[Not carried out, as you are not registered: send bob hi]", "error")]
    assert lines.take_early() == []


def test_lines_waiting_for_a_change_go_in_order_or_are_said_dropped() -> None:
    lines = TypedLines()
    assert not lines.after_change
    lines.hold("who")
    lines.hold(None)
    assert lines.after_change and lines.next() == "who" and lines.next() is None
    lines.hold("rooms")
    out: list[pa.Action] = []
    lines.drop(out.append)
    assert out == [pa.Print("[Not carried out, as you left at once: rooms]", "error")]
    assert not lines.after_change
