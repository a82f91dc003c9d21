"""Those the owner talks with keep their place in the owner's mailbox, whichever way they
talked (docs/SECURITY.md, "Mailbox tickets"): after a direct chat both ways, strangers at
four keys on two addresses fill their half of carol's mailbox; alice's save is still kept
and handed to carol when she returns, while a stranger's is refused with the reason."""

from __future__ import annotations

import pytest

from peer.core.direct import RECEIVED_BY
from peer.core.registration import YOU_HAVE_MESSAGES
from peer.core.request_ends import SAVED
from tests.sim.world import SimNet

pytestmark = pytest.mark.timeout(30)

#: A small mailbox: strangers' half is 20 messages, one key's quarter 10.
LIMIT = 40
FULL = (
    "[Message for carol not saved (Senders carol has not written to fill half of carol's "
    "mailbox, the most they may; the rest is kept for those carol writes to): "
)


def test_a_correspondent_by_direct_chat_keeps_a_place_strangers_cannot_take() -> None:
    net = SimNet(mailbox_limit=LIMIT)
    net.add_peer("carol", 6001)
    net.add_peer("alice", 6002)
    strangers = [f"s{k}" for k in range(4)]
    for k, name in enumerate(strangers):
        net.add_peer(name, 7001 + k, ip=f"10.0.9.{k % 2 + 1}")
    net.run(3)
    net.type("alice", "send carol hi carol")
    net.type("carol", "send alice hi alice")
    net.run(1)
    assert net.count("carol", RECEIVED_BY.format("alice")) == 1
    assert net.count("alice", RECEIVED_BY.format("carol")) == 1
    net.type("carol", "dereg carol")
    net.run(1)
    for name in strangers:
        for n in range(8):
            net.type(name, f"send carol {name} floods {n}")
    net.run(5)
    box = net.disk.mail["carol"]
    assert len(box) == LIMIT // 2  # the strangers' half, full
    assert any(line.startswith(FULL) for name in strangers for line in net.screen(name))
    net.type("alice", "send carol are you there")
    net.type("s0", "send carol one more")
    net.run(2)
    assert net.screen("alice")[-1] == SAVED
    assert net.screen("s0")[-1] == FULL + "“one more”]"
    net.type("carol", "reg carol")
    net.run(2)
    screen = net.screen("carol")
    shown = screen[screen.index(YOU_HAVE_MESSAGES) + 1 :]
    assert [line for line in shown if line.startswith("alice: ")][-1].endswith(" are you there")
    assert not any("one more" in line for line in shown)
