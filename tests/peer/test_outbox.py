"""The outbox alone (Settling.held): held in the order typed, and written to disk only when
it changed."""

from __future__ import annotations

from peer.core.actions import Action, KeepOutbox
from peer.core.settling import Settling
from wire.messages import ChannelPost, SaveMessage


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
    assert outbox.answered(second) and not outbox.answered(second)
    assert outbox.outbox == (first, third)


def test_an_earlier_runs_outbox_comes_before_anything_typed_now() -> None:
    kept = _save("old-1")
    outbox = Settling([kept])
    now = _save("a-1")
    outbox.note_typed(now)
    outbox.hold(now)
    assert outbox.outbox == (kept, now)


def test_it_is_kept_on_disk_only_when_it_changed() -> None:
    kept, later = _save("a-1"), _save("a-2")
    outbox, out = Settling([kept]), list[Action]()
    outbox.keep_outbox(out.append)
    assert out == []  # what the earlier run wrote
    outbox.note_typed(later)
    outbox.hold(later)
    outbox.keep_outbox(out.append)
    assert out == [KeepOutbox((kept, later))]
    outbox.keep_outbox(out.append)
    assert len(out) == 1  # unchanged
    assert outbox.answered(kept) and outbox.outbox == (later,)
    outbox.keep_outbox(out.append)
    assert out[-1] == KeepOutbox((later,))
