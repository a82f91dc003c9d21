"""Handing a datagram's messages to a core."""

from __future__ import annotations

from net.batch import receive_batch
from wire.messages import Message, Notice

ADDR = ("127.0.0.1", 4000)


def test_every_message_is_handed_over_in_order_at_one_time_and_the_actions_joined() -> None:
    seen: list[tuple[str, float]] = []

    def receive(message: Message, addr: tuple[str, int], now: float) -> list[str]:
        assert addr == ADDR
        seen.append((message.id, now))
        return [f"{message.id}-a", f"{message.id}-b"]

    actions = receive_batch(receive, [Notice("m1", "x"), Notice("m2", "y")], ADDR)
    assert actions == ["m1-a", "m1-b", "m2-a", "m2-b"]
    assert [i for i, _ in seen] == ["m1", "m2"] and seen[0][1] == seen[1][1]


def test_a_trace_gets_one_line_per_message_naming_its_source() -> None:
    lines: list[str] = []
    receive_batch(lambda m, a, now: [], [Notice("m1", "x"), Notice("m2", "y")], ADDR, lines.append)
    assert len(lines) == 2 and all(line.startswith("<- 127.0.0.1:4000 ") for line in lines)
    assert "m1" in lines[0] and "m2" in lines[1]
