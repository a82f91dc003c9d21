"""Kept lines reach the registry in the order typed, on a network that loses, duplicates and
reorders datagrams: the outbox goes one message at a time (RegistryLink.flush_outbox)."""

from __future__ import annotations

import re

import pytest

from tests.sim.world import REGISTRY, Addr, SimNet
from wire.messages import ChannelPost, Message, SaveMessage

TYPED = [f"kept {i}" for i in range(8)]
#: x's channel line as z shows it: live, or from its mailbox with the time it was stored
CHANNEL_LINE = re.compile(r"^\[?Channel_Message x: (?:\S+ \S+ )?(kept \d+)\]?$")


class Recording(SimNet):
    """A SimNet that notes the order in which the registry first got each posted line."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.first: list[str] = []

    def arrived(self, dst: Addr, src: Addr, message: Message) -> None:
        posted = isinstance(message, ChannelPost | SaveMessage)
        if dst == REGISTRY and self.registry is not None and posted:
            text = self.unsealed(message).text
            if text not in self.first:
                self.first.append(text)
        super().arrived(dst, src, message)


def kept_while_the_registry_is_down(seed: int) -> Recording:
    """x keeps TYPED, alternately to the channel and for y (offline), while the registry is
    down, on a network that loses 25%, duplicates 20% and reorders what it carries."""
    net = Recording(seed=seed, loss=0.25, duplicate=0.2, delay=(0.0005, 0.02), keepalive=1.0)
    for i, name in enumerate("xyz"):
        net.add_peer(name, 6001 + i)
    net.run(5)
    net.type("y", "dereg y")
    net.run(5)
    net.kill_registry()
    for i, text in enumerate(TYPED):
        net.type("x", f"send_all {text}" if i % 2 == 0 else f"send y {text}")
        net.run(0.01)
    # given up a round on (as far apart as the lossy network's answers lately took)
    for _ in range(120):
        net.run(0.5)
        if [m.text for m in net.hosts["x"].core.outbox] == TYPED:  # type: ignore[union-attr]
            return net
    raise AssertionError("the lines were not kept")


@pytest.mark.parametrize("seed", range(8))
def test_kept_lines_reach_the_registry_in_the_order_typed(seed: int) -> None:
    net = kept_while_the_registry_is_down(seed)
    net.start_registry()
    net.run(90)
    assert net.hosts["x"].outbox == ()
    assert net.first == TYPED, seed
    # so the mailbox keeps them in that order; the channel lines reach z each once (the
    # registry's pushes to z are retried each on its own),
    # live or, should z have been taken for gone on this lossy network, from its mailbox
    assert [m.text for m in net.disk.mail["y"] if m.kind == "direct"] == TYPED[1::2]
    channel = [CHANNEL_LINE.match(line) for line in net.screen("z")]
    assert sorted(m.group(1) for m in channel if m) == TYPED[::2]


@pytest.mark.parametrize("seed", range(4))
def test_a_peer_killed_mid_flush_sends_the_rest_in_order_once(seed: int) -> None:
    net = kept_while_the_registry_is_down(seed)
    net.start_registry()
    net.run(1.5)  # some of the outbox went out, not all of it
    net.kill_peer("x")
    net.start_peer("x")  # sends what its last life kept on disk
    net.run(90)
    assert net.hosts["x"].outbox == ()
    assert net.first == TYPED, seed
    assert [m.text for m in net.disk.mail["y"] if m.kind == "direct"] == TYPED[1::2]
    channel = [line for line in net.screen("z") if line.startswith("[Channel_Message x: kept")]
    assert sorted(channel) == [f"[Channel_Message x: {text}]" for text in TYPED[::2]]  # once
