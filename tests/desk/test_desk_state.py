"""The desk's options: each has its default, a value out of bounds is refused, and an option
the desk does not know is a mistake, not something to ignore (registry.core.desk.state)."""

from __future__ import annotations

from typing import Any

import pytest
from desk_harness import Desk

from registry.core.desk.limits import GRACE, MAX_WAITING, PUSH_INTERVAL, RECLAIM_WINDOW
from wire.desk.messages import HEARTBEAT
from wire.desk.text import DEFAULT_CRISIS_NOTICE


def test_every_option_has_its_default() -> None:
    queue = Desk().queue
    s = queue.state.settings
    assert s.grace == GRACE and s.max_waiting == MAX_WAITING
    assert s.push_interval == PUSH_INTERVAL and s.reclaim_window == RECLAIM_WINDOW
    assert s.heartbeat == HEARTBEAT and s.crisis_notice == DEFAULT_CRISIS_NOTICE
    assert queue.state.authorised == {}


def test_options_given_are_taken() -> None:
    queue = Desk(grace=5.0, max_waiting=3, heartbeat=2.0, authorised={"k": "ann"}).queue
    s = queue.state.settings
    assert (s.grace, s.max_waiting, s.heartbeat) == (5.0, 3, 2.0)
    assert queue.state.authorised == {"k": "ann"}


@pytest.mark.parametrize(
    "options",
    [
        {"grace": -1.0},
        {"push_interval": -0.5},
        {"danger_room": -1},
        {"max_waiting": 0},
        {"max_per_address": 0},
        {"max_per_key": 0},
        {"heartbeat": 0.0},
    ],
)
def test_values_out_of_bounds_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Desk(**options)


def test_an_option_the_desk_does_not_know_is_refused() -> None:
    with pytest.raises(TypeError, match="gracee"):
        Desk(gracee=5.0)
