"""The peer core runs on a monotonic `now`; what it says of the time of day (is a room's
history line from today?) is `now + wall_offset`, the offset its adapter reads when its
timer wakes it."""

from __future__ import annotations

import time

from tests.peer.honest import REGISTRY_KEY
from tests.peer.test_peer_core import SERVER, T0, prints, registered, sent
from wire.messages import Ack, RoomMessage

#: Noon on the day a history line was said, local time.
NOON = time.mktime((2026, 11, 21, 12, 0, 0, 0, 0, -1))


def history_line(wall_offset: float) -> str:
    """The line shown for a history line of 10:00 on NOON's day, joined at T0."""
    core, _ = registered()
    core.wall_offset = wall_offset
    [join] = sent(core.line("join lobby", T0))
    history = RoomMessage("b-1", "bob", "lobby", "said before", "2026-11-21 10:00:00", True)
    out = core.receive(history, SERVER, REGISTRY_KEY, T0 + 0.001)
    out += core.receive(Ack("r-6", join.id), SERVER, REGISTRY_KEY, T0 + 0.002)
    [line] = [text for text in prints(out) if text.startswith("[history")]
    return line


def test_a_history_line_of_today_by_the_time_of_day_shows_its_time_alone() -> None:
    assert history_line(NOON - T0) == "[history 10:00] bob (in lobby): said before"


def test_a_history_line_of_another_day_shows_its_date() -> None:
    assert history_line(0.0) == "[history 2026-11-21 10:00] bob (in lobby): said before"
