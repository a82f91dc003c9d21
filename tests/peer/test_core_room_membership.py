"""PeerCore as a whole, the room: what is said there."""

from __future__ import annotations

from tests.peer.core_kit import (
    T0,
    prints,
    registered,
    sent,
)


def test_me_outside_a_room_says_so_and_posts_nothing() -> None:
    """Found by trying it: `/me` outside a room posted to a room named ""."""
    core, _ = registered()
    acts = core.line("/me waves", T0)
    assert prints(acts) == ["[You are not in a room. join <room> enters one.]"]
    assert sent(acts) == []
