"""The simulated world itself (tests/sim/): the real adapters on a simulated network."""

from __future__ import annotations

import pytest

from peer.core.direct import RECEIVED_BY
from tests.sim.world import SimNet
from wire.messages import Chat


class NoCarrier:
    """An action no carrier of the peer adapter takes."""


def test_an_action_no_carrier_takes_raises_as_in_the_adapter() -> None:
    net = SimNet()
    net.add_peer("x", 6001)
    net.run(2)
    core = net.hosts["x"].core
    assert core is not None
    core.line = lambda text, now, carry_out: carry_out(NoCarrier())  # type: ignore[method-assign,assignment]
    with pytest.raises(KeyError, match="NoCarrier"):
        net.type("x", "anything")


def test_a_seed_replays_the_same_run() -> None:
    def play() -> list[tuple[float, int, int, str]]:
        net = SimNet(seed=7, loss=0.3, duplicate=0.2)
        for i, name in enumerate("xy"):
            net.add_peer(name, 6001 + i)
        net.run(3)
        net.type("x", "send y once")
        net.kill_peer("y")
        net.run(2)
        net.start_peer("y")
        net.run(5)
        return [(t - net.now, s[1], d[1], type(m).__name__) for t, s, d, m in net.sent]

    assert play() == play()


def test_messages_travel_sealed_and_the_world_sees_them_opened() -> None:
    net = SimNet()
    for i, name in enumerate("xy"):
        net.add_peer(name, 6001 + i)
    net.run(3)
    seen: list[bytes] = []

    def watch(src: object, dst: object, data: bytes) -> bool:
        seen.append(data)
        return False  # not lost

    net.network.on_datagram = watch
    net.type("x", "send y in the clear nowhere")
    net.run(1)
    assert net.count("x", RECEIVED_BY.format("y")) == 1
    assert any(isinstance(m, Chat) and m.text == "in the clear nowhere" for *_, m in net.sent)
    assert seen and not any(b"in the clear nowhere" in data for data in seen)
