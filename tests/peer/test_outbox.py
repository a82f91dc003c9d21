"""The outbox alone (Settling.held): held in the order typed, and logged durably as it is
held."""

from __future__ import annotations

from peer.core.actions import Sending
from peer.core.settling import Settling
from tests.peer.parts_kit import logged
from wire.messages import ChannelPost, Leave, SaveMessage


def _save(msg_id: str) -> SaveMessage:
    return SaveMessage(msg_id, "alice", "token", "bob", f"text {msg_id}")


def test_a_message_typed_earlier_goes_before_those_typed_after_it() -> None:
    first, second, third = _save("a-1"), ChannelPost("a-2", "alice", "token", "hi"), _save("a-3")
    outbox = Settling()
    for message in (first, second, third):
        outbox.note_typed(message)
    outbox.hold(third)
    outbox.hold(first)  # its 5 tries took longer: it reaches the outbox last
    outbox.hold(second)
    assert outbox.outbox == (first, second, third)
    assert outbox.stop_holding(second) and not outbox.stop_holding(second)
    assert outbox.outbox == (first, third)


def test_an_earlier_runs_outbox_comes_before_anything_typed_now() -> None:
    kept = _save("old-1")
    outbox = Settling([kept])
    now = _save("a-1")
    outbox.note_typed(now)
    outbox.hold(now)
    assert outbox.outbox == (kept, now)


def test_each_message_is_logged_durably_as_it_is_held_in_the_order_typed() -> None:
    kept, first, leave, later = (
        _save("a-1"),
        _save("a-2"),
        Leave("a-3", "alice", "tok"),
        _save("a-4"),
    )
    outbox = Settling([kept])
    assert outbox.records == []  # what the earlier run logged
    for message in (first, leave, later):
        outbox.note_typed(message)
    first, later = outbox.keep(first), outbox.keep(later)
    outbox.hold(later)
    assert outbox.records[-1] == Sending(later)
    outbox.hold(later)
    assert outbox.records[-1] == Sending(later) and len(outbox.records) == 3
    outbox.hold(leave)  # answered, never kept: held in its place, logged as it is held
    assert outbox.outbox == (kept, leave, later)
    assert logged([Sending(kept), *outbox.records]) == (kept, first, later, leave)
