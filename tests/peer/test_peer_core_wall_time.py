"""The peer core runs on a monotonic `now` (the time of day only as `wall_offset`, for when a
save was typed): a line of a room's history is dated as it is shown (is it from today?), by
the time of day then, which a laptop's sleep moves while the monotonic clock stands still."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from peer.core.actions import Dated, Print
from peer.core.room_membership import as_of
from tests.peer.test_node_batches import REGISTRY, SERVER, registered_node
from wire.messages import RoomMessage

pytestmark = pytest.mark.timeout(10)

#: Noon on the day a history line was said, local time.
NOON = time.mktime((2026, 11, 21, 12, 0, 0, 0, 0, -1))
LINE = Dated("[history 2026-11-21 10:00] bob (in lobby): said before", "history", "bob")


def test_a_history_line_of_today_by_the_time_of_day_shows_its_time_alone() -> None:
    shown = Print("[history 10:00] bob (in lobby): said before", "history", "bob")
    assert as_of(LINE, NOON) == shown


def test_a_history_line_of_another_day_shows_its_date() -> None:
    assert as_of(LINE, NOON + 86_400) is LINE


@pytest.mark.needs_pure  # replaces the endpoint's send
def test_a_history_line_after_a_sleep_is_dated_by_the_time_of_day_it_is_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    night = time.mktime((2026, 11, 21, 23, 59, 0, 0, 0, -1))
    monkeypatch.setattr(time, "time", lambda: night)

    async def main() -> list[object]:
        events: list[object] = []
        node = registered_node(tmp_path, events)
        at = node.now()
        # the laptop slept till morning: the monotonic clock stood still, and no timer woke
        monkeypatch.setattr(time, "time", lambda: night + 8 * 3600)
        said = RoomMessage("b-1", "bob", "lobby", "good morning", "2026-11-22 07:30:00", True)
        node.received_batch([said], SERVER, REGISTRY, at + 0.001)
        node.stop()
        return events

    assert ("show", "[history 07:30] bob (in lobby): good morning") in asyncio.run(main())
