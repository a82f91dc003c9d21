"""The verbose log's line for a message received."""

from __future__ import annotations

from wire.messages import Notice, inbound_line

ADDR = ("127.0.0.1", 4000)


def test_a_line_names_the_source_and_the_message() -> None:
    line = inbound_line(Notice("m1", "x"), ADDR)
    assert line.startswith("<- 127.0.0.1:4000 ") and "m1" in line
