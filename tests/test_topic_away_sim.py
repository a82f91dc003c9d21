"""/topic and /away with the cores on a simulated network: what each peer's screen shows."""

from __future__ import annotations

import pytest

from tests.sim.world import SimNet

pytestmark = pytest.mark.timeout(30)


def net_of(*names: str) -> SimNet:
    net = SimNet(delay=(0.001, 0.001))
    for i, name in enumerate(names):
        net.add_peer(name, 6001 + i)
    net.run(3)
    return net


def test_a_topic_is_said_to_members_told_on_joining_and_listed() -> None:
    net = net_of("x", "y", "z")
    net.type("x", "join lobby")
    net.type("y", "join lobby")
    net.run(1)
    net.type("x", "/topic Friday release")
    net.run(1)
    assert "[You set the topic of lobby: Friday release]" in net.screen("x")
    assert "[x set the topic of lobby: Friday release]" in net.screen("y")
    net.type("z", "join lobby")
    net.run(1)
    assert "[Topic of lobby: Friday release]" in net.screen("z")
    net.type("z", "/topic")
    net.type("z", "/rooms")
    net.run(1)
    assert net.screen("z")[-3:] == [
        "[Topic of lobby: Friday release]",
        "[Rooms:]",
        "  lobby  3 members  (you are here)  - Friday release",
    ]


def test_away_shows_in_others_who_until_the_peer_types_again() -> None:
    net = net_of("x", "y")
    net.type("x", "/away lunch")
    net.run(1)
    assert net.screen("x")[-1] == "[You are marked away: lunch]"
    net.type("y", "who")
    assert "  x  online   (away: lunch)" in net.screen("y")
    net.type("x", "send y back soon")
    net.run(1)
    assert "[You are back.]" in net.screen("x")
    net.type("y", "who")
    assert net.screen("y")[-2:] == ["  x  online", "  y  online   (you)"]
