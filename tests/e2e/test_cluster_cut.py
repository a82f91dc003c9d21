"""The lead of a service cut off from NATS alone, on real processes: between it and a real
nats-server, a link that drops everything (tests/blackhole.py) as a firewall would. It steps
down as its lease runs out, another registry takes the lead, and the peers of the registries
that still reach NATS see nothing of it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from registry.adapter.cluster.keeper import LEASE
from tests.blackhole import Blackhole
from tests.nats_servers import STARTS_WITHIN, nats_cluster

from .harness import (
    HOST,
    POSTED_EVEN_IF_KEPT,
    SERVER_NOT_RESPONDING,
    ChatEnv,
    Peer,
    channel_line,
    direct,
)
from .test_cluster import decides, start_member, unique

pytestmark = pytest.mark.timeout(60)

#: The keepalive period of these registries and peers: short, so that a lead that went on
#: deciding through the cut would take a relay's peer for gone within it (silent for three
#: periods, then a probe unanswered: 2.5 s).
KEEPALIVE = 1.0
#: Seconds the lead stays cut off: longer than such a silence and its probe.
CUT_FOR = 7.0
#: Seconds another registry may take, once the lead is free, to load the service's state and
#: say it decides (on a loaded machine).
LOADS_WITHIN = 2.0


def post(sender: Peer, receiver: Peer, posts: list[str]) -> None:
    """`sender` posts to the channel; `receiver` shows it."""
    text = unique(f"{sender.name}-post")
    posts.append(text)
    sender.send(f"send_all {text}")
    receiver.expect(channel_line(sender.name, text), timeout=15)


#: Seconds between two rounds of talk through the cut (each a post either way and a line).
PACE = 0.25


@pytest.mark.slow
def test_a_lead_cut_off_from_nats_steps_down_and_the_peers_elsewhere_see_nothing(
    chat: ChatEnv, tmp_path: Path
) -> None:
    with nats_cluster(tmp_path / "nats") as nats, Blackhole(nats[0].port) as link:
        # (the lead reaches NATS through the link alone; the others, directly)
        one, _ = start_member(chat, nats, "one", decides=True, keepalive=KEEPALIVE, urls=link.url)
        members = [
            start_member(chat, nats, name, decides=False, keepalive=KEEPALIVE)
            for name in ("two", "three")
        ]
        relays, ports = [proc for proc, _ in members], [port for _, port in members]
        alice = chat.start_peer("alice", server_port=ports[0], keepalive=KEEPALIVE)
        bob = chat.start_peer("bob", server_port=ports[1], keepalive=KEEPALIVE)
        alice.expect_line("[bob is online]")
        sent: dict[str, list[str]] = {"alice": [], "bob": []}
        post(alice, bob, sent["alice"])
        link.cut()
        cut = time.monotonic()
        for text in (unique("alice-post"), unique("bob-post")):  # on their way at the cut
            sender = alice if text.startswith("alice") else bob
            sent[sender.name].append(text)
            sender.send(f"send_all {text}")
        # it decides no more once its lease has run out: before another can take it
        one.expect(r": this one relays$", LEASE + LOADS_WITHIN)
        print(f"the lead stepped down {time.monotonic() - cut:.2f} s after it was cut off")
        lead = decides(relays, cut + LEASE + 1 + LOADS_WITHIN - time.monotonic())
        print(f"{lead.label} decided {time.monotonic() - cut:.2f} s after the lead was cut off")
        while time.monotonic() - cut < CUT_FOR:  # the peers talk on through the cut
            post(alice, bob, sent["alice"])
            post(bob, alice, sent["bob"])
            direct(alice, bob, unique("direct"))
            time.sleep(PACE)  # (the pace of the talk: no condition is waited for)
        link.mend()
        reach = f"{HOST}:{ports[relays.index(lead)]}"
        said = rf"the registry at {re.escape(reach)} decides for the service now; this one relays"
        one.expect(said, STARTS_WITHIN)
        print(f"the old lead said it relays {time.monotonic() - cut:.2f} s after the cut")
        post(alice, bob, sent["alice"])
        post(bob, alice, sent["bob"])
        # every post acknowledged, and shown once to the other (some waited at the cut)
        for sender, receiver in ((alice, bob), (bob, alice)):
            while sender.count(POSTED_EVEN_IF_KEPT) < len(sent[sender.name]):
                sender.expect(POSTED_EVEN_IF_KEPT, timeout=15)
            lines = [channel_line(sender.name, text) for text in sent[sender.name]]
            receiver.expect_all([line for line in lines if not receiver.count(line)])
            receiver.drain()
            assert [receiver.count(line) for line in lines] == [1] * len(lines), receiver.name
        for peer in (alice, bob):
            assert peer.count("went offline") == 0, peer.name
            assert peer.count(re.escape(SERVER_NOT_RESPONDING.rstrip("]"))) == 0, peer.name
        one.drain()
        assert one.count(r"\boffline \(it did not answer a probe\)") == 0
