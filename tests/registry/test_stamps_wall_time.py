"""The registry core runs on a monotonic `now` while the stamps of what it keeps are the time
of day: `now + wall_offset()`, the offset its adapter reads at each stamp (a clock stepped, or
a host asleep, while the registry runs moves the offset, not `now`)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from registry.adapter.server import RegistryServer
from registry.core import actions as ra
from registry.core.post_office import TYPED_BEFORE_SAVE
from registry.core.services import stamp
from tests.registry.core_helpers import T0, X, Y, core, in_room, register, run_until
from wire.messages import Deregister, RoomMessage, RoomPost, SaveMessage

#: The time of day minus the core's `now`: 400 days, so that a stamp taken from `now` alone
#: would show another date.
WALL_OFFSET = 86_400.0 * 400
#: The time of day at T0, in whole seconds, as a sender's save says it.
NOW = int(WALL_OFFSET + T0)


def test_a_message_kept_in_a_mailbox_is_stamped_with_the_time_of_day() -> None:
    offset = [0.0]
    reg = core(wall_offset=lambda: offset[0])
    wx = register(reg, "x", X)
    wy = register(reg, "y", Y)
    reg.receive(Deregister("d", "y", wy.token, False, ""), Y, T0)
    offset[0] = WALL_OFFSET  # the host slept: the time of day moved on, `now` did not
    out = reg.receive(SaveMessage("x-5", "x", wx.token, "y", "hello"), X, T0 + 1)
    [store] = [a for a in out if isinstance(a, ra.StoreMail)]
    assert store.message.stamp == stamp(T0 + 1 + WALL_OFFSET) != stamp(T0 + 1)


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        (NOW - 7, NOW - 7),  # typed 7 s before: its time
        (0, NOW),  # not known: the save's
        (NOW + 60, NOW),  # in the future: the save's
        (NOW - int(TYPED_BEFORE_SAVE) - 1, NOW),  # far past: the save's
    ],
)
def test_a_saved_message_shows_when_its_sender_typed_it_within_bounds(
    typed: int, shown: int
) -> None:
    reg = core(wall_offset=lambda: WALL_OFFSET)
    wx = register(reg, "x", X)
    wy = register(reg, "y", Y)
    reg.receive(Deregister("d", "y", wy.token, False, ""), Y, T0)
    out = reg.receive(SaveMessage("x-5", "x", wx.token, "y", "hi", typed=typed), X, T0)
    [store] = [a for a in out if isinstance(a, ra.StoreMail)]
    assert store.message.stamp == stamp(shown)


def test_a_save_kept_after_its_probe_shows_when_it_was_typed() -> None:
    reg = core(wall_offset=lambda: WALL_OFFSET)
    wx = register(reg, "x", X)
    register(reg, "y", Y)  # online: the save is pushed to y as a probe, and y never acks
    typed = NOW - 7
    reg.receive(SaveMessage("x-5", "x", wx.token, "y", "hi", typed=typed), X, T0)
    out = run_until(reg, T0 + 60)
    [store] = [a for a in out if isinstance(a, ra.StoreMail)]
    assert store.message.stamp == stamp(typed)


def test_a_line_said_in_a_room_is_stamped_with_the_time_of_day() -> None:
    offset = [0.0]
    reg = core(wall_offset=lambda: offset[0])
    tokens = in_room(reg, "lobby", ("x", X), ("y", Y))
    offset[0] = WALL_OFFSET
    out = reg.receive(RoomPost("x-1", "x", tokens["x"], "lobby", "one"), X, T0 + 1)
    [keep] = [a for a in out if isinstance(a, ra.KeepHistory)]
    [said] = keep.history
    assert isinstance(said, RoomMessage)
    assert said.stamp == stamp(T0 + 1 + WALL_OFFSET) != stamp(T0 + 1)


def test_the_registrys_core_reads_the_time_of_day_at_each_stamp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host that slept for hours: the monotonic clock did not count them, the time of day
    did; a message saved right after it wakes is stamped with the time of day then."""

    async def scenario() -> None:
        server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=lambda _: None)
        reg = server.core
        wx = register(reg, "x", X)
        wy = register(reg, "y", Y)
        reg.receive(Deregister("d", "y", wy.token, False, ""), Y, T0)
        woke = time.time() + 8 * 3600
        monkeypatch.setattr(time, "time", lambda: woke)
        monkeypatch.setattr(time, "monotonic", lambda: T0 + 0.1)  # (the event's `now`)
        out = reg.receive(SaveMessage("x-5", "x", wx.token, "y", "hello"), X, T0 + 0.1)
        monkeypatch.undo()
        [store] = [a for a in out if isinstance(a, ra.StoreMail)]
        assert store.message.stamp == stamp(woke)
        await server.close()

    asyncio.run(scenario())
