"""PeerCore as a whole, the room: what is said there."""

from __future__ import annotations

from peer.core.room_membership import SHRUG
from tests.peer.core_kit import (
    REGISTRY_KEY,
    SERVER,
    T0,
    prints,
    registered,
    sent,
)
from wire.messages import Ack, RoomPost


def test_me_outside_a_room_says_so_and_posts_nothing() -> None:
    """Found by trying it: `/me` outside a room posted to a room named ""."""
    core, _ = registered()
    acts = core.line("/me waves", T0)
    assert prints(acts) == ["[You are not in a room. join <room> enters one.]"]
    assert sent(acts) == []


def test_shrug_says_its_text_and_a_shrug_in_the_room() -> None:
    core, _ = registered()
    [join] = sent(core.line("/join lobby", T0))
    core.receive(Ack("r-8", join.id), SERVER, REGISTRY_KEY, T0 + 0.1)  # type: ignore[attr-defined]
    [post] = sent(core.line("/shrug no idea ", T0 + 0.2))
    assert isinstance(post, RoomPost)
    assert post.text == f"no idea {SHRUG}" == "no idea ¯\\_(ツ)_/¯"
    [alone] = sent(core.line("/shrug", T0 + 0.3))
    assert alone.text == SHRUG  # type: ignore[attr-defined]


def test_shrug_outside_a_room_says_so_and_posts_nothing() -> None:
    core, _ = registered()
    acts = core.line("/shrug", T0)
    assert prints(acts) == ["[You are not in a room. join <room> enters one.]"]
    assert sent(acts) == []
