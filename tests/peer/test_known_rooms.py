"""The lines that show rooms, on their own."""

from __future__ import annotations

import time

from peer.core.actions import Action, Print
from peer.core.room_membership import as_of, room_line
from wire.messages import RoomMessage

NOW = time.mktime((2026, 11, 21, 12, 0, 0, 0, 0, -1))


def texts(out: list[Action]) -> list[str]:
    return [a.text for a in out if isinstance(a, Print)]


def test_a_room_line_says_who_and_where_and_history_says_when() -> None:
    live = RoomMessage("m-1", "alice", "teamchat", "Hello team!", "", False)
    assert room_line(live) == Print("alice (in teamchat): Hello team!", "room", "alice")
    today = RoomMessage("m-2", "bob", "teamchat", "earlier", "2026-11-21 09:15:02", True)
    assert as_of(room_line(today), NOW).text == "[history 09:15] bob (in teamchat): earlier"
    older = RoomMessage("m-3", "bob", "teamchat", "old", "2026-11-20 09:15:02", True)
    assert as_of(room_line(older), NOW).text == "[history 2026-11-20 09:15] bob (in teamchat): old"


def test_an_action_is_shown_as_done_by_its_sender() -> None:
    action = RoomMessage("m-4", "alice", "teamchat", "/me waves", "", False)
    assert room_line(action).text == "* alice waves (in teamchat)"
    said = RoomMessage("m-5", "alice", "teamchat", " /me is text", "", False)
    assert room_line(said).text == "alice (in teamchat):  /me is text"
