"""Each sender's lines are shown in the order typed, on a network that loses, duplicates and
reorders datagrams while several of them are on their way at once (docs/GUIDE.md, "Direct
messages"): channel lines, room lines and direct messages alike, each once.

Lines go out as fast as typed: one lost and sent again arrives after those typed after it,
which wait for it where they arrive, HOLD seconds at most (peer.core.inbox).
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from peer.core.inbox import HOLD
from tests.hypothesis_profiles import examples
from tests.sim.world import Addr, Host, SimNet
from wire.messages import ChannelMessage, Chat, Message, RoomMessage

NAMES = ("x", "y", "z")
#: A line as shown live: the channel's, a room's, or a direct message.
SHOWN = re.compile(
    r"^(?:\[Channel_Message (\w+): (c-\d+)\]|(\w+) \(in r\): (r-\d+)|(\w+): (d-\d+))$"
)
#: (receiver, sender, text): when it first arrived there, or was shown.
Times = dict[tuple[str, str, str], float]


class Watched(SimNet):
    """A SimNet noting when each line first reached each peer, and when it was shown."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.arrived_at: Times = {}
        self.shown: list[tuple[float, str, str, str]] = []  # (when, receiver, sender, text)

    def arrived(self, dst: Addr, src: Addr, message: Message) -> None:
        if isinstance(message, Chat | ChannelMessage | RoomMessage):
            line = self.unsealed(message)
            for host in self.hosts.values():
                if host.addr == dst:
                    self.arrived_at.setdefault((host.name, line.sender, line.text), self.now)
        super().arrived(dst, src, message)

    def printed(self, host: Host, text: str) -> None:
        match = SHOWN.match(text)
        if match is not None:
            sender, line = (group for group in match.groups() if group is not None)
            self.shown.append((self.now, host.name, sender, line))
        super().printed(host, text)


def chatting(seed: int, loss: float, gap: float, lines: int) -> Watched:
    """Everyone joins room r; then, as the network loses `loss` of the datagrams, each says
    `lines` lines to the channel, to the room and to the next of them, `gap` s apart."""
    net = Watched(seed=seed, duplicate=0.05, delay=(0.0005, 0.01))
    net.all_in_room_r(NAMES)
    net.loss = loss
    for k in range(lines):
        for i, name in enumerate(NAMES):
            net.type(name, f"/send_all c-{k}")
            net.type(name, f"r-{k}")
            net.type(name, f"/send {NAMES[(i + 1) % len(NAMES)]} d-{k}")
        net.run(gap)
    net.run(60)  # every retry and outcome settles
    return net


@pytest.mark.timeout(120)
@settings(max_examples=examples(40), derandomize=True, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    loss=st.sampled_from([0.05, 0.1, 0.2, 0.3]),
    gap=st.sampled_from([0.0, 0.01, 0.1, 0.4]),
)
@example(seed=0, loss=0.2, gap=0.01)
def test_a_line_is_shown_after_those_typed_before_it_unless_they_are_late(
    seed: int, loss: float, gap: float
) -> None:
    lines = 8
    net = chatting(seed, loss, gap, lines)
    shown: dict[tuple[str, str, str], list[tuple[int, float]]] = defaultdict(list)
    for when, receiver, sender, text in net.shown:
        kind, k = text.split("-")
        shown[(receiver, sender, kind)].append((int(k), when))
    for i, name in enumerate(NAMES):
        owed = [(s, kind) for s in NAMES if s != name for kind in "cr"] + [(NAMES[i - 1], "d")]
        for sender, kind in owed:
            got = shown[(name, sender, kind)]
            order = [k for k, _ in got]
            assert sorted(order) == list(range(lines)), (name, sender, kind, order)  # each once
            came = [net.arrived_at[(name, sender, f"{kind}-{k}")] for k in range(lines)]
            for at, (k, _) in enumerate(got):
                # shown after later lines: they waited HOLD from the first of them to come
                waited = min(came[k + 1 :], default=0.0) + HOLD
                late = [n for n, when in got[:at] if n > k and when < waited]
                assert not late, (name, sender, kind, order, k, late)
