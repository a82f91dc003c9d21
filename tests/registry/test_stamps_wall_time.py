"""The registry core runs on a monotonic `now` while the stamps of what it keeps are the time
of day: `now + wall_offset`, the offset its adapter sets with every event (a clock stepped
while the registry runs moves the offset, not `now`)."""

from __future__ import annotations

from registry.core import actions as ra
from registry.core.post_office import stamp
from tests.registry.core_helpers import T0, X, Y, core, in_room, register
from wire.messages import Deregister, RoomMessage, RoomPost, SaveMessage

#: The time of day minus the core's `now`: 400 days, so that a stamp taken from `now` alone
#: would show another date.
WALL_OFFSET = 86_400.0 * 400


def test_a_message_kept_in_a_mailbox_is_stamped_with_the_time_of_day() -> None:
    reg = core()
    wx = register(reg, "x", X)
    wy = register(reg, "y", Y)
    reg.receive(Deregister("d", "y", wy.token, False, ""), Y, T0)
    reg.wall_offset = WALL_OFFSET
    out = reg.receive(SaveMessage("x-5", "x", wx.token, "y", "hello"), X, T0 + 1)
    [store] = [a for a in out if isinstance(a, ra.StoreMail)]
    assert store.message.stamp == stamp(T0 + 1 + WALL_OFFSET) != stamp(T0 + 1)


def test_a_line_said_in_a_room_is_stamped_with_the_time_of_day() -> None:
    reg = core()
    tokens = in_room(reg, "lobby", ("x", X), ("y", Y))
    reg.wall_offset = WALL_OFFSET
    out = reg.receive(RoomPost("x-1", "x", tokens["x"], "lobby", "one"), X, T0 + 1)
    [keep] = [a for a in out if isinstance(a, ra.KeepHistory)]
    [said] = keep.history
    assert isinstance(said, RoomMessage)
    assert said.stamp == stamp(T0 + 1 + WALL_OFFSET) != stamp(T0 + 1)
